import assert from "node:assert/strict";
import { test } from "node:test";
import { createBackoff, jittered } from "../src/backoff.js";
import { createStopSignal } from "../src/stop-signal.js";

test("waits double from the first to the cap, and a success starts over", () => {
  const backoff = createBackoff(createStopSignal(), { firstMs: 250, maxMs: 10_000 });
  assert.equal(backoff.failures, 0);
  const waits = Array.from({ length: 9 }, () => backoff.fail());
  assert.deepEqual(waits, [250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  assert.equal(backoff.failures, 9);
  backoff.succeed();
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.fail(), 250);
});

test("stays at the cap however long the failures last", () => {
  const backoff = createBackoff(createStopSignal(), { firstMs: 1, maxMs: 30_000 });
  let last = 0;
  for (let i = 0; i < 5_000; i++) last = backoff.fail();
  assert.equal(last, 30_000);
});

test("with jitter each wait falls in the upper half of its step, and they differ", () => {
  const draws: number[][] = [];
  for (let run = 0; run < 200; run++) {
    const backoff = createBackoff(createStopSignal(), { firstMs: 100, maxMs: 3_000, jitter: true });
    draws.push(Array.from({ length: 7 }, () => backoff.fail()));
  }
  const steps = [100, 200, 400, 800, 1_600, 3_000, 3_000];
  for (const waits of draws) {
    waits.forEach((wait, i) => {
      const step = steps[i] as number;
      assert.ok(wait >= step / 2 && wait <= step, `wait ${i + 1}: ${wait} outside [${step / 2}, ${step}]`);
    });
  }
  assert.ok(new Set(draws.map((w) => w[0])).size > 100, "the first waits are spread out");
  const single = Array.from({ length: 200 }, () => jittered(100));
  assert.ok(single.every((w) => w >= 50 && w <= 100));
  assert.ok(Math.min(...single) < 60 && Math.max(...single) > 90, "drawn across the whole upper half");
});

test("wait() counts the failure and sleeps its step, and ends as soon as the loop stops", async () => {
  const stop = createStopSignal();
  const backoff = createBackoff(stop, { firstMs: 40, maxMs: 60_000 });
  let started = performance.now();
  await backoff.wait();
  assert.ok(performance.now() - started >= 39, "slept the first step");
  assert.equal(backoff.failures, 1);
  for (let i = 0; i < 20; i++) backoff.fail();
  started = performance.now();
  const waiting = backoff.wait(); // a step of 60 s
  setTimeout(() => stop.stop(), 20);
  await waiting;
  assert.ok(performance.now() - started < 1_000, "the stop ended the wait");
});

test("refuses steps that cannot back off", () => {
  const stop = createStopSignal();
  assert.throws(() => createBackoff(stop, { firstMs: 0, maxMs: 100 }), RangeError);
  assert.throws(() => createBackoff(stop, { firstMs: 200, maxMs: 100 }), RangeError);
  assert.throws(() => createBackoff(stop, { firstMs: Number.NaN, maxMs: 100 }), RangeError);
});
