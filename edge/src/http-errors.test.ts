import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { appError } from "@parley/shared/errors.js";
import { codeName, errorBody, httpStatus, retryAfterSeconds } from "./http-errors.js";

test("codes map to Connect's HTTP statuses", () => {
  const expected: [Code, number][] = [
    [Code.InvalidArgument, 400],
    [Code.FailedPrecondition, 400],
    [Code.OutOfRange, 400],
    [Code.Unauthenticated, 401],
    [Code.PermissionDenied, 403],
    [Code.NotFound, 404],
    [Code.AlreadyExists, 409],
    [Code.Aborted, 409],
    [Code.ResourceExhausted, 429],
    [Code.Canceled, 499],
    [Code.Unimplemented, 501],
    [Code.Unavailable, 503],
    [Code.DeadlineExceeded, 504],
    [Code.Internal, 500],
    [Code.Unknown, 500],
    [Code.DataLoss, 500],
  ];
  for (const [code, status] of expected) assert.equal(httpStatus(code), status, Code[code]);
});

test("code names are Connect's snake_case", () => {
  assert.equal(codeName(Code.InvalidArgument), "invalid_argument");
  assert.equal(codeName(Code.NotFound), "not_found");
  assert.equal(codeName(Code.Unauthenticated), "unauthenticated");
  assert.equal(codeName(Code.DeadlineExceeded), "deadline_exceeded");
});

test("the error body carries code, message and the ErrorInfo reason", () => {
  assert.deepEqual(errorBody(appError(Code.NotFound, "ROOM_NOT_FOUND", "no such room")), {
    error: { code: "not_found", message: "no such room", reason: "ROOM_NOT_FOUND" },
  });
  // Without an ErrorInfo the reason falls back to the code.
  assert.deepEqual(errorBody(new ConnectError("gone", Code.Unavailable)), {
    error: { code: "unavailable", message: "gone", reason: "UNAVAILABLE" },
  });
});

test("Retry-After comes from a ResourceExhausted error's retryAfterSeconds", () => {
  const limited = (seconds: string) =>
    appError(Code.ResourceExhausted, "RATE_LIMITED", "slow down", { retryAfterSeconds: seconds });
  assert.equal(retryAfterSeconds(limited("42")), 42);
  assert.equal(retryAfterSeconds(limited("0")), 1, "never 0: that would invite an instant retry");
  assert.equal(retryAfterSeconds(limited("soon")), undefined);
  assert.equal(retryAfterSeconds(appError(Code.ResourceExhausted, "OTP_LOCKED", "locked")), undefined);
  assert.equal(
    retryAfterSeconds(appError(Code.InvalidArgument, "X", "x", { retryAfterSeconds: "5" })),
    undefined,
    "only for 429s",
  );
});
