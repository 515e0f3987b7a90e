import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { errorReason } from "@parley/shared/errors.js";
import { type Bucket, FramePacing, rateLimited } from "./realtime/frame-pacing.js";

const rates = {
  acting: { rate: 20, burst: 2 },
  subscribe: { rate: 20, burst: 3 },
  authenticate: { rate: 0.1, burst: 1 },
};

test("each bucket is paced on its own", () => {
  const pacing = new FramePacing(rates);
  assert.equal(pacing.take("authenticate", 0), "ok");
  assert.equal(pacing.take("authenticate", 0), "limited");
  // Spending one bucket leaves the others whole.
  const spend: Bucket[] = ["acting", "acting", "subscribe", "subscribe", "subscribe"];
  assert.deepEqual(
    spend.map((b) => pacing.take(b, 0)),
    ["ok", "ok", "ok", "ok", "ok"],
  );
  assert.equal(pacing.take("acting", 0), "limited");
  // One authenticate frame every 10 s.
  assert.equal(pacing.take("authenticate", 9_000), "limited");
  assert.equal(pacing.take("authenticate", 20_000), "ok");
});

test("a stream of authenticate frames is a flood within a few refusals", () => {
  const pacing = new FramePacing(rates);
  const verdicts = Array.from({ length: 10 }, () => pacing.take("authenticate", 0));
  assert.equal(verdicts.filter((v) => v === "ok").length, 1);
  assert.equal(verdicts.at(-1), "flood");
});

test("the refusal says the pace and when to retry", () => {
  const perSecond = rateLimited("acting", { rate: 20, burst: 40 });
  assert.equal(errorReason(perSecond), "RATE_LIMITED");
  assert.equal(perSecond.rawMessage, "at most 20 frames per second (bursts of 40)");
  assert.equal(perSecond.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds, "1");
  const slow = rateLimited("authenticate", { rate: 1 / 7, burst: 5 });
  assert.equal(slow.rawMessage, "authenticate frames at most once every 7 s (bursts of 5)");
  assert.equal(slow.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds, "7");
});
