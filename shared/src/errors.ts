/**
 * Building blocks for each service's error catalogue: a ConnectError with a
 * closed gRPC/Connect code plus a stable machine-readable reason carried as
 * an ErrorInfo detail (grpc-status-details-bin on the wire).
 */

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, type Status, StatusSchema } from "@parley/proto/rpc/v1/error_pb.js";

export { Code, ConnectError };

export function appError(
  code: Code,
  reason: string,
  message: string,
  metadata: Record<string, string> = {},
): ConnectError {
  return new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: { reason, metadata } }]);
}

export function errorReason(err: ConnectError): string {
  return (
    err.findDetails(ErrorInfoSchema)[0]?.reason ?? Code[err.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()
  );
}

/** "not_found" for Code.NotFound: the names Connect (and the WebSocket's error frames) use on the wire. */
export function codeName(code: Code): string {
  const name = Code[code] ?? "Unknown";
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

export function unauthenticated(message = "a valid access token is required"): ConnectError {
  return appError(Code.Unauthenticated, "UNAUTHENTICATED", message);
}

/**
 * Too many calls: ResourceExhausted with the whole seconds to wait in
 * `retryAfterSeconds`, which the edge turns into Retry-After (REST, Connect).
 */
export function rateLimited(
  retryAfterSeconds: number,
  message = `too many requests; try again ${inAbout(retryAfterSeconds)}`,
): ConnectError {
  return appError(Code.ResourceExhausted, "RATE_LIMITED", message, { retryAfterSeconds: String(retryAfterSeconds) });
}

/**
 * "in 45 seconds", "in 3 minutes", "in about 2 hours": when to try again, for
 * a person (the exact seconds go in retryAfterSeconds and Retry-After).
 * Rounded up, so that trying at the time said succeeds.
 */
export function inAbout(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 90) return `in ${s} second${s === 1 ? "" : "s"}`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 90) return `in ${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return `in about ${hours} hours`;
}

export function internal(): ConnectError {
  return appError(Code.Internal, "INTERNAL", "internal error");
}

/** An error as an item of a batch response (rpc.v1.Status); anything not a ConnectError is `internal`. */
export function toItemStatus(err: unknown): Status {
  const ce = err instanceof ConnectError ? err : internal();
  const info = ce.findDetails(ErrorInfoSchema)[0];
  return create(StatusSchema, { code: ce.code, message: ce.rawMessage, ...(info ? { info } : {}) });
}

/** The ConnectError a batch item's Status stands for, as if its own call had failed. */
export function fromItemStatus(status: Status): ConnectError {
  const code = status.code in Code && status.code !== 0 ? (status.code as Code) : Code.Unknown;
  const info = status.info;
  return new ConnectError(status.message, code, undefined, info ? [{ desc: ErrorInfoSchema, value: info }] : []);
}
