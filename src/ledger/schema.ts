import type { Database } from 'better-sqlite3'

/**
 * The SQLite ledger's tables, as numbered migrations: a database records the last one applied
 * (`PRAGMA user_version`) and runs the rest in order, each in its own transaction. Append a
 * migration to change the schema; never edit one that has shipped.
 *
 * `log` is the ledger (every change, hash-chained and signed); every other table is state derived
 * from it, which `chorus ledger verify` rebuilds and compares. Money columns are integer
 * micro-units (read as bigint).
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE log (
     seq INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     body TEXT NOT NULL,
     prev TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     sig TEXT NOT NULL
   );
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE accounts (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     operator TEXT NOT NULL,
     balance INTEGER NOT NULL,
     stake INTEGER NOT NULL,
     unbonding INTEGER NOT NULL,
     unbond_at INTEGER NOT NULL,
     nonce INTEGER NOT NULL,
     created INTEGER NOT NULL
   );
   CREATE TABLE keys (key TEXT PRIMARY KEY, account TEXT NOT NULL, added INTEGER NOT NULL, retired INTEGER);
   CREATE INDEX keys_by_account ON keys (account);
   CREATE TABLE reputation (
     account TEXT PRIMARY KEY,
     answer_ppm INTEGER NOT NULL,
     answer_rounds INTEGER NOT NULL,
     judge_agreed_halves INTEGER NOT NULL,
     judge_verdicts INTEGER NOT NULL,
     weight_micro INTEGER NOT NULL
   );
   -- An account's stake and judge weight from each seq on: a round reads them as of its head.
   CREATE TABLE standing (account TEXT NOT NULL, seq INTEGER NOT NULL, stake INTEGER NOT NULL, weight_micro INTEGER NOT NULL, PRIMARY KEY (account, seq));
   CREATE TABLE rounds (round TEXT PRIMARY KEY, seq INTEGER NOT NULL, root TEXT NOT NULL);`,
  // Nodes read a member's answerer reputation at a head (a Query's minReputation); clients allow
  // gateways to charge them up to an amount (metering).
  `ALTER TABLE standing ADD COLUMN answer_ppm INTEGER NOT NULL DEFAULT 500000;
   CREATE TABLE allowances (client TEXT NOT NULL, gateway TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (client, gateway));
   ALTER TABLE rounds ADD COLUMN charged INTEGER NOT NULL DEFAULT 0;`,
  // The money held in all accounts, kept by triggers, so the conservation check after every entry
  // costs the same with ten accounts or a million (verify still sums every account).
  `CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 1), held INTEGER NOT NULL);
   INSERT INTO totals (id, held) SELECT 1, COALESCE(SUM(balance + stake + unbonding), 0) FROM accounts;
   CREATE TRIGGER accounts_held_insert AFTER INSERT ON accounts BEGIN
     UPDATE totals SET held = held + NEW.balance + NEW.stake + NEW.unbonding;
   END;
   CREATE TRIGGER accounts_held_update AFTER UPDATE OF balance, stake, unbonding ON accounts BEGIN
     UPDATE totals SET held = held + (NEW.balance + NEW.stake + NEW.unbonding) - (OLD.balance + OLD.stake + OLD.unbonding);
   END;
   CREATE TRIGGER accounts_held_delete AFTER DELETE ON accounts BEGIN
     UPDATE totals SET held = held - (OLD.balance + OLD.stake + OLD.unbonding);
   END;`,
  // Beacons issued to rounds, one per (round, phase), each the next value of a hash chain whose
  // tip the log published first (beaconChain.ts).
  `CREATE TABLE beacons (
     round TEXT NOT NULL,
     phase TEXT NOT NULL,
     seal TEXT NOT NULL,
     coordinator TEXT NOT NULL,
     chain INTEGER NOT NULL,
     idx INTEGER NOT NULL,
     value TEXT NOT NULL,
     seq INTEGER NOT NULL,
     PRIMARY KEY (round, phase)
   );`,
  // Rounds that took a members beacon and have not settled, whose fee the gateway forfeits if they
  // never do; and the rounds that expired so.
  `CREATE TABLE open_rounds (round TEXT PRIMARY KEY, gateway TEXT NOT NULL, fee INTEGER NOT NULL, expires INTEGER NOT NULL);
   CREATE INDEX open_rounds_by_expiry ON open_rounds (expires);
   CREATE TABLE expired_rounds (round TEXT PRIMARY KEY, seq INTEGER NOT NULL, forfeited INTEGER NOT NULL);`,
  // How many ranked rounds each account has answered, as of each seq: a round's support counts an
  // answerer by its record (rules 2), and a fresh identity has none.
  `ALTER TABLE standing ADD COLUMN answer_rounds INTEGER NOT NULL DEFAULT 0;`,
  // The newest beacon as of a head, which the standing carries so members can check later ones.
  `CREATE INDEX beacons_by_seq ON beacons (seq);`,
  // Rules 3: tickets joiners locked for a round (its Join as signed; amount 0 once released), and
  // the rounds whose joins are still open, until their members beacon closes them or time runs out.
  `CREATE TABLE ticket_locks (round TEXT NOT NULL, key TEXT NOT NULL, account TEXT NOT NULL, hash TEXT NOT NULL, envelope TEXT NOT NULL, amount INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (round, key));
   CREATE INDEX ticket_locks_by_account ON ticket_locks (account);
   CREATE TABLE lock_rounds (round TEXT PRIMARY KEY, gateway TEXT NOT NULL, ticket INTEGER NOT NULL, join_deadline INTEGER NOT NULL, closes INTEGER NOT NULL, head TEXT NOT NULL, min_reputation INTEGER NOT NULL, max_members INTEGER NOT NULL);
   CREATE INDEX lock_rounds_by_close ON lock_rounds (closes);`,
  // Proof of capability: each judge's graded known-answer judgements and whether it passed; the
  // challenge each node has open (its items' commitments; `slot` is its first item in the pool).
  `ALTER TABLE reputation ADD COLUMN cal_right INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE reputation ADD COLUMN cal_total INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE reputation ADD COLUMN calibrated INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE reputation ADD COLUMN cal_failures INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE reputation ADD COLUMN cal_retry_at INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE challenges (account TEXT PRIMARY KEY, id INTEGER NOT NULL, key TEXT NOT NULL, slot INTEGER NOT NULL, commitments TEXT NOT NULL, expires INTEGER NOT NULL);`,
  // Hidden calibration rounds: the items a gateway took for them, committed, until it reveals
  // which round asked each (and the ledger grades that round's judges on it).
  `CREATE TABLE hidden_items (id INTEGER PRIMARY KEY, gateway TEXT NOT NULL, slot INTEGER NOT NULL, commitment TEXT NOT NULL);
   CREATE INDEX hidden_items_by_gateway ON hidden_items (gateway);`,
  // A custody chain (ledger/evm): what each account released for withdrawal there (cumulative)
  // and the EVM address the chain pays it to.
  `ALTER TABLE accounts ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE accounts ADD COLUMN payout TEXT;`,
  // What each entry changed in each account's claim (held + released), kept by triggers: a
  // custody chain's batch commits every settlement's changes, so a dispute can net them on chain.
  `CREATE TABLE applying (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
   INSERT INTO applying (id, seq) VALUES (1, 0);
   CREATE TABLE entry_deltas (seq INTEGER NOT NULL, account TEXT NOT NULL, delta INTEGER NOT NULL, PRIMARY KEY (seq, account));
   CREATE TRIGGER accounts_claim_insert AFTER INSERT ON accounts WHEN NEW.balance + NEW.stake + NEW.unbonding + NEW.released != 0 BEGIN
     INSERT INTO entry_deltas (seq, account, delta) VALUES ((SELECT seq FROM applying), NEW.id, NEW.balance + NEW.stake + NEW.unbonding + NEW.released)
       ON CONFLICT (seq, account) DO UPDATE SET delta = delta + excluded.delta;
   END;
   CREATE TRIGGER accounts_claim_update AFTER UPDATE OF balance, stake, unbonding, released ON accounts
     WHEN (NEW.balance + NEW.stake + NEW.unbonding + NEW.released) != (OLD.balance + OLD.stake + OLD.unbonding + OLD.released) BEGIN
     INSERT INTO entry_deltas (seq, account, delta) VALUES ((SELECT seq FROM applying), NEW.id, (NEW.balance + NEW.stake + NEW.unbonding + NEW.released) - (OLD.balance + OLD.stake + OLD.unbonding + OLD.released))
       ON CONFLICT (seq, account) DO UPDATE SET delta = delta + excluded.delta;
   END;`,
  // The minimum stake by entry, once governance changed it: a standing at a head counts the
  // nodes eligible by the minimum in force at that head, not today's.
  `CREATE TABLE min_stakes (seq INTEGER PRIMARY KEY, amount INTEGER NOT NULL);`,
  // A round a client restricted to named operators (`chorus.operators`): the ledger locks only
  // their nodes' tickets. JSON array of operator accounts; NULL: every operator's nodes.
  `ALTER TABLE lock_rounds ADD COLUMN operators TEXT;`,
]

export const SCHEMA_VERSION = MIGRATIONS.length

export function migrate(db: Database): void {
  const at = Number(db.pragma('user_version', { simple: true }))
  if (at > SCHEMA_VERSION) throw new Error(`this ledger file has schema version ${at}; this Chorus knows up to ${SCHEMA_VERSION}`)
  for (let v = at; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
