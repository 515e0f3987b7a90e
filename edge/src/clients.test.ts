import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason } from "@parley/shared/errors.js";
import { pino } from "pino";
import { fromUpstream } from "./clients.js";

function recordingLogger() {
  const levels: number[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      levels.push((JSON.parse(chunk.toString()) as { level: number }).level);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), levels };
}

/** What connect-node raises for a stream the server reset with REFUSED_STREAM (a service shutting down). */
function refused(): ConnectError {
  const cause = Object.assign(new Error("Stream closed with error code NGHTTP2_REFUSED_STREAM"), {
    code: "ERR_HTTP2_STREAM_ERROR",
  });
  return new ConnectError(cause.message, Code.Internal, undefined, undefined, cause);
}

test("a stream a shutting-down service refused is unavailable, logged at debug, not an internal error", () => {
  const { logger, levels } = recordingLogger();
  const err = fromUpstream(refused(), "chat-svc", logger);
  assert.equal(err.code, Code.Unavailable);
  assert.equal(errorReason(err), "SERVICE_UNAVAILABLE");
  assert.deepEqual(levels, [20]);
});

test("any other internal error from a service is still logged as an error", () => {
  const { logger, levels } = recordingLogger();
  const err = fromUpstream(new ConnectError("boom", Code.Internal), "chat-svc", logger);
  assert.equal(err.code, Code.Internal);
  assert.deepEqual(levels, [50]);
});
