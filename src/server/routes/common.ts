/**
 * What the route files share: the error responses of the OpenAPI document
 * and the admin token check.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ApiError } from '../errors.js';
import { ErrorResponse } from '../schemas.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'INVALID_REQUEST: malformed body or query (a BSE code that is not 6 digits or not a JSON string, an impossible date, a batch over 100 items, an unknown field, a number out of range), or more new on-demand prediction dates in one request than STOCKFLOW_API_MAX_NEW_DATES',
  401: 'UNAUTHORIZED: missing or wrong Authorization: Bearer token',
  403: 'FORBIDDEN: no STOCKFLOW_ADMIN_TOKEN is configured on the server, so the endpoint is disabled',
  404: 'STOCK_NOT_FOUND (not in the master list) or PREDICTION_NOT_FOUND (no stored prediction for that stock and date)',
  413: 'PAYLOAD_TOO_LARGE: body over the size limit',
  415: 'UNSUPPORTED_MEDIA_TYPE: send application/json',
  422: 'FEATURE_EXTRACTION_FAILED: the stock’s features cannot be computed for that date; `reason` says why. EXPLANATION_UNAVAILABLE (include_shap, explain=1): the model cannot be explained (no node covers and no background sample of feature rows, or not a tree ensemble / linear classifier); `message` says why',
  429: 'RATE_LIMITED: too many requests, or too many new on-demand prediction dates, from this client; see Retry-After',
  500: 'INTERNAL_ERROR: an unexpected failure (details in the server log under the request id)',
  501: 'NOT_IMPLEMENTED: the feature is not available in this build',
  503: 'MODEL_UNAVAILABLE (no usable model), DATA_UNAVAILABLE (market.db not readable) or SERVICE_UNAVAILABLE (shutting down, or the queue of on-demand date builds is full: see Retry-After)',
};

/** Response schemas for the given error statuses, each the ErrorResponse body. */
export function errors(...statuses: number[]): Record<number, ReturnType<typeof Type.Unsafe>> {
  const out: Record<number, ReturnType<typeof Type.Unsafe>> = {};
  for (const s of statuses) out[s] = Type.Unsafe({ $ref: `${ErrorResponse.$id}#`, description: ERROR_DESCRIPTIONS[s] ?? 'error' });
  return out;
}

/** The statuses every rate-limited route may answer with. */
export const COMMON = [429, 500] as const;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` against the configured admin token
 * (compared in constant time). 403 when no token is configured, 401 when the
 * header is missing or wrong.
 */
export function requireAdmin(req: FastifyRequest, token: string | undefined): void {
  if (!token) throw new ApiError('FORBIDDEN', 'this endpoint is disabled: set STOCKFLOW_ADMIN_TOKEN on the server to enable it');
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h) : null;
  if (!m) throw new ApiError('UNAUTHORIZED', 'missing admin credentials: send Authorization: Bearer <STOCKFLOW_ADMIN_TOKEN>');
  if (!timingSafeEqual(digest(m[1]), digest(token))) throw new ApiError('UNAUTHORIZED', 'wrong admin token');
}
