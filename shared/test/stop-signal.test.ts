import assert from "node:assert/strict";
import { test } from "node:test";
import { createStopSignal } from "../src/stop-signal.js";

test("a sleep lasts its time unless the signal stops, which ends every sleep at once and aborts the AbortSignal", async () => {
  const stop = createStopSignal();
  let started = performance.now();
  await stop.sleep(30);
  assert.ok(performance.now() - started >= 29, "slept its time");

  assert.equal(stop.stopped, false);
  assert.equal(stop.signal.aborted, false);
  started = performance.now();
  const sleeps = Array.from({ length: 20 }, () => stop.sleep(60_000));
  setTimeout(() => stop.stop(), 20);
  await Promise.all(sleeps);
  assert.ok(performance.now() - started < 1_000, "every sleep ended at the stop");
  assert.equal(stop.stopped, true);
  assert.equal(stop.signal.aborted, true);

  // A sleep begun after the stop does not wait at all.
  started = performance.now();
  await stop.sleep(60_000);
  assert.ok(performance.now() - started < 100);
  // Stopping twice is harmless.
  stop.stop();
});
