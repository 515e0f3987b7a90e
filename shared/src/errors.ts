/**
 * Building blocks for each service's error catalogue: a ConnectError with a
 * closed gRPC/Connect code plus a stable machine-readable reason carried as
 * an ErrorInfo detail (grpc-status-details-bin on the wire).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";

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

export function unauthenticated(message = "a valid access token is required"): ConnectError {
  return appError(Code.Unauthenticated, "UNAUTHENTICATED", message);
}

export function internal(): ConnectError {
  return appError(Code.Internal, "INTERNAL", "internal error");
}
