#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium. Installs it when it is missing and this
# machine can (root with apt-get); otherwise says how, and the browser tests skip (or fail under CI).
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the dashboard's browser tests…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  exit 0
fi
echo "note: no Chromium at $chromium; the dashboard's browser tests need it (sudo apt-get install -y chromium, or set CHROMIUM_PATH)" >&2
