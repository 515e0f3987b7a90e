import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameQueue } from "./realtime/frame-queue.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("frames run one at a time in arrival order; a failure is reported and the next still runs", async () => {
  const queue = new FrameQueue(10);
  const log: string[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  queue.push(
    async () => {
      log.push("a start");
      await held;
      log.push("a end");
    },
    () => log.push("a failed"),
  );
  queue.push(
    async () => {
      log.push("b");
      throw new Error("b broke");
    },
    (err) => log.push(`b failed: ${(err as Error).message}`),
  );
  queue.push(
    async () => {
      log.push("c");
    },
    () => log.push("c failed"),
  );
  await tick();
  assert.deepEqual(log, ["a start"]);
  release();
  await tick();
  assert.deepEqual(log, ["a start", "a end", "b", "b failed: b broke", "c"]);
});

test("past its bound the queue refuses, and takes frames again once it has room", async () => {
  const queue = new FrameQueue(2);
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const noop = () => {};
  assert.equal(
    queue.push(() => held, noop),
    true,
  );
  assert.equal(
    queue.push(async () => {}, noop),
    true,
  );
  assert.equal(
    queue.push(async () => {}, noop),
    false,
  );
  release();
  await tick();
  assert.equal(
    queue.push(async () => {}, noop),
    true,
  );
});
