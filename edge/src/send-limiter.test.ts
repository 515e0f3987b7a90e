import assert from "node:assert/strict";
import { test } from "node:test";
import { SendLimiter } from "./realtime/send-limiter.js";

const limit = { rate: 20, burst: 40 };

test("a burst is allowed, then the sustained rate", () => {
  const l = new SendLimiter(limit, 0);
  for (let i = 0; i < 40; i++) assert.equal(l.take(0), "ok", `frame ${i}`);
  assert.equal(l.take(0), "limited");
  // 20 per second: one token every 50 ms.
  assert.equal(l.take(49), "limited");
  assert.equal(l.take(51), "ok");
  assert.equal(l.take(60), "limited");
  // An idle second refills 20 tokens, never more than the burst.
  let ok = 0;
  for (let i = 0; i < 100; i++) if (l.take(10_000) === "ok") ok++;
  assert.equal(ok, 40);
});

test("a client at the rate (or a few times over it) is limited but not cut off", () => {
  const l = new SendLimiter(limit, 0);
  // Four times the rate for ten seconds: 80 frames/s.
  const verdicts = new Set<string>();
  for (let t = 0; t < 10_000; t += 12.5) verdicts.add(l.take(t));
  assert.deepEqual([...verdicts].sort(), ["limited", "ok"]);
});

test("a client that keeps flooding is", () => {
  const l = new SendLimiter(limit, 0);
  let verdict = "ok";
  let t = 0;
  // Ten times the rate: 200 frames/s.
  for (; t < 5_000 && verdict !== "flood"; t += 5) verdict = l.take(t);
  assert.equal(verdict, "flood");
  assert.ok(t < 2_000, `flagged after ${t} ms`);
  // A huge instant burst is flooding too.
  const burst = new SendLimiter(limit, 0);
  const verdicts = Array.from({ length: 200 }, () => burst.take(0));
  assert.equal(verdicts.filter((v) => v === "ok").length, 40);
  assert.equal(verdicts.at(-1), "flood");
});
