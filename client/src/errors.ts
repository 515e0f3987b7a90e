/**
 * Errors the SDK hands to the app: the Connect code (as the snake_case name
 * the WebSocket uses) and the server's stable reason, and how a failed send
 * is treated (README "WebSocket protocol", "Errors and limits").
 */
import { ConnectError } from "@connectrpc/connect";
import { codeName, errorReason } from "@parley/shared/errors.js";

export class ParleyError extends Error {
  override readonly name = "ParleyError";
  constructor(
    /** gRPC/Connect code name in snake_case, e.g. "not_found". */
    readonly code: string,
    message: string,
    /** Stable machine-readable reason, e.g. "ROOM_NOT_FOUND"; "" when the server gave none. */
    readonly reason = "",
    /** For `resource_exhausted`: the seconds the server asked to wait before trying again; 0 when it gave none. */
    readonly retryAfterSeconds = 0,
  ) {
    super(message);
  }
}

/** The socket closed (or was given up on) before the answer came: the server may or may not have acted. */
export function connectionLost(): ParleyError {
  return new ParleyError("unavailable", "the connection was lost before the answer came", "CONNECTION_LOST");
}

export function notConnected(): ParleyError {
  return new ParleyError("unavailable", "not connected", "NOT_CONNECTED");
}

/** Any error as a ParleyError: ConnectErrors keep their code, anything else is `unknown`. */
export function toParleyError(err: unknown): ParleyError {
  if (err instanceof ParleyError) return err;
  const ce = ConnectError.from(err);
  return new ParleyError(codeName(ce.code), ce.rawMessage, errorReason(ce));
}

/** What the outbox does with a send that failed this way. */
export type SendVerdict = "retry" | "wait" | "fail";

/**
 * The request is wrong or not allowed: sending it again cannot help. Anything
 * else (unavailable, a lost connection, an internal error) may succeed on a
 * retry, which the clientMessageId makes safe.
 */
const PERMANENT = new Set([
  "invalid_argument",
  "permission_denied",
  "not_found",
  "failed_precondition",
  "out_of_range",
  "already_exists",
  "unimplemented",
]);

export function sendVerdict(err: ParleyError): SendVerdict {
  if (err.code === "resource_exhausted") return "wait";
  return PERMANENT.has(err.code) ? "fail" : "retry";
}
