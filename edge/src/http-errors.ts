/**
 * The one translation from gRPC/Connect codes to what REST clients and
 * WebSocket error frames see. Statuses follow Connect's own mapping so that a
 * REST call and the equivalent Connect call fail the same way.
 */
import { Code, type ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { codeName, errorReason } from "@parley/shared/errors.js";

const httpStatusByCode: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

export function httpStatus(code: Code): number {
  return httpStatusByCode[code] ?? 500;
}

export { codeName };

export interface ErrorBody {
  error: { code: string; message: string; reason: string };
}

export function errorBody(err: ConnectError): ErrorBody {
  return { error: { code: codeName(err.code), message: err.rawMessage, reason: errorReason(err) } };
}

/**
 * Whole seconds to wait before retrying, from a ResourceExhausted error's
 * ErrorInfo metadata `retryAfterSeconds` (RATE_LIMITED from user-svc and
 * chat-svc, user-svc's OTP_RESEND_COOLDOWN and OTP_RATE_LIMITED): what REST
 * and Connect send as Retry-After.
 */
export function retryAfterSeconds(err: ConnectError): number | undefined {
  if (err.code !== Code.ResourceExhausted) return undefined;
  for (const info of err.findDetails(ErrorInfoSchema)) {
    const raw = info.metadata.retryAfterSeconds;
    if (raw !== undefined && /^\d{1,9}$/.test(raw)) return Math.max(1, Number(raw));
  }
  return undefined;
}
