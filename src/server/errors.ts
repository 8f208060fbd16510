/**
 * The API's one error shape and the mapping of every failure onto it.
 *
 * Body: `{error: CODE, message, bse_code?, reason?, timestamp, request_id}`.
 * No stack trace ever leaves the server: an unexpected error answers 500 with
 * a generic message and its detail goes to the log under the request id.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES as HTTP_STATUS_TEXT } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyRequest } from 'fastify';

/** Every error code the API answers with, and its HTTP status. */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  STOCK_NOT_FOUND: 404,
  PREDICTION_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  FEATURE_EXTRACTION_FAILED: 422,
  EXPLANATION_UNAVAILABLE: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  MODEL_UNAVAILABLE: 503,
  DATA_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  bse_code?: string;
  /** For FEATURE_EXTRACTION_FAILED: the skip reason (NO_PRICE_DATA, INSUFFICIENT_HISTORY, TOO_MANY_MISSING, STALE_DATA, NO_PRICE_BAND). */
  reason?: string;
  timestamp: string;
  request_id: string;
}

/** An error the API answers as it is (status, code, message). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly bseCode?: string;
  readonly reason?: string;
  /** Seconds for a Retry-After header (429 and 503 answers that know when to come back). */
  readonly retryAfter?: number;
  constructor(code: ErrorCode, message: string, extra: { bseCode?: string; reason?: string; status?: number; retryAfter?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = extra.status ?? ERROR_STATUS[code];
    this.bseCode = extra.bseCode;
    this.reason = extra.reason;
    this.retryAfter = extra.retryAfter;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** The body for an error, stamped with the request id and the time. */
export function errorBody(req: FastifyRequest, e: Pick<ApiError, 'code' | 'message' | 'bseCode' | 'reason'>): ErrorBody {
  // Server-side failures may quote file paths (a missing market.db, a models directory): clients see only the file name.
  const message = ERROR_STATUS[e.code] >= 500 ? hidePaths(e.message) : e.message;
  const body: ErrorBody = { error: e.code, message, timestamp: new Date().toISOString(), request_id: String(req.id) };
  if (e.bseCode !== undefined) body.bse_code = e.bseCode;
  if (e.reason !== undefined) body.reason = e.reason;
  return body;
}


interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** One readable sentence for a schema validation failure (Ajv errors, as fastify passes them). */
export function validationMessage(context: string | undefined, issues: readonly ValidationIssue[], data: unknown): string {
  const part = PART_NAMES[context ?? ''] ?? context ?? 'request';
  const first = issues[0];
  if (!first) return `invalid ${part}`;
  const segments = (first.instancePath ?? '').split('/').filter(Boolean);
  const field = segments.length > 0 ? segments.join('.') : undefined;
  const where = field ? `${part} field '${field}'` : part;
  let value: unknown = data;
  for (const s of segments) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[s] : undefined;
  const shown = typeof value === 'string' ? ` ('${value.length > 40 ? `${value.slice(0, 40)}…` : value}')` : '';
  const p = first.params ?? {};
  switch (first.keyword) {
    case 'format':
      if (p.format === 'date') return `${where}${shown} is not a real calendar date in YYYY-MM-DD form`;
      return `${where}${shown} must be a ${String(p.format)}`;
    case 'pattern':
      if (segments.at(-1) === 'bse_code' || segments.at(-1) === 'code') return `${where}${shown} must be a 6-digit BSE code`;
      return `${where}${shown} must match ${String(p.pattern)}`;
    case 'required':
      return `${part}${field ? ` field '${field}'` : ''} is missing the required property '${String(p.missingProperty)}'`;
    case 'additionalProperties':
      return `${where} has an unknown property '${String(p.additionalProperty)}'`;
    case 'maxItems':
      return `${where} has more than ${String(p.limit)} items`;
    case 'minItems':
      return `${where} needs at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    default:
      return `${where}${shown} ${first.message ?? 'is invalid'}`;
  }
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  501: 'NOT_IMPLEMENTED',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Any thrown value → the ApiError to answer with. `unexpected` is true when
 * the error is a bug (the caller logs it in full and answers generically).
 */
export function toApiError(e: unknown, req?: FastifyRequest): { error: ApiError; unexpected: boolean } {
  if (isApiError(e)) return { error: e, unexpected: false };
  const fe = e as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    const ctx = fe.validationContext;
    const data = ctx === 'body' ? req?.body : ctx === 'querystring' ? req?.query : ctx === 'params' ? req?.params : undefined;
    return { error: new ApiError('INVALID_REQUEST', validationMessage(ctx, fe.validation, data)), unexpected: false };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = STATUS_CODES[status] ?? 'INVALID_REQUEST';
    let message = fe.message ?? 'invalid request';
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (e instanceof SyntaxError && status === 400)) message = `body is not valid JSON: ${message}`;
    if (status === 413) message = 'request body is too large';
    if (status === 415) message = `unsupported Content-Type: send application/json`;
    return { error: new ApiError(code, message, { status }), unexpected: false };
  }
  return { error: new ApiError('INTERNAL_ERROR', 'internal server error; the request id identifies it in the server log'), unexpected: true };
}

/**
 * Node's own answers (before fastify sees a request: a malformed request
 * line, headers too large, headers or body not arriving in time) in the
 * common error body, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status: number;
  let code: ErrorCode;
  let message: string;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    [status, code, message] = [408, 'REQUEST_TIMEOUT', 'the request headers (or body) did not arrive in time'];
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    [status, code, message] = [431, 'HEADERS_TOO_LARGE', 'the request headers are too large'];
  } else {
    [status, code, message] = [400, 'INVALID_REQUEST', 'malformed HTTP request'];
  }
  const id = randomUUID();
  const body = JSON.stringify({ error: code, message, timestamp: new Date().toISOString(), request_id: id } satisfies ErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${HTTP_STATUS_TEXT[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

const ABSOLUTE_PATH = /(?<=^|[\s'"`(=,;<])(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'"`,;()<>]+)+[\\/]([^\s\\/:'"`,;()<>]+)/g;

/**
 * A message for anonymous clients: every absolute file path replaced by its
 * last part (`/srv/data/market.db` → `market.db`). The log keeps the full
 * message.
 */
export function hidePaths(message: string): string {
  return message.replace(ABSOLUTE_PATH, '$1');
}
