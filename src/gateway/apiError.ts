/**
 * Errors the API returns, in OpenAI's shape `{error: {message, type, param, code}}` with the HTTP
 * status that goes with them. Clients written for OpenAI read these unchanged.
 */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'service_unavailable'
  | 'timeout_error'
  | 'server_error'
  | 'insufficient_quota'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly retryAfterS?: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, 'invalid_request_error', message, code, param)
