/** Work left running after a reply: never ahead of it, never fatal, never lost on shutdown. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "@parley/shared/logger.js";
import { createBackground } from "../src/domain/background.js";

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

test("a task starts only after the code that started it has run to completion", async () => {
  const background = createBackground(createLogger("background-test", "silent"));
  const order: string[] = [];
  background.start("t", async () => {
    order.push("task");
  });
  order.push("reply");
  await Promise.resolve();
  order.push("reply sent");
  await background.drain();
  assert.deepEqual(order, ["reply", "reply sent", "task"]);
});

test("drain waits for every task, including ones started meanwhile", async () => {
  const background = createBackground(createLogger("background-test", "silent"));
  const first = gate();
  const second = gate();
  const done: string[] = [];
  background.start("first", async () => {
    await first.opened;
    background.start("second", async () => {
      await second.opened;
      done.push("second");
    });
    done.push("first");
  });
  let drained = false;
  const draining = background.drain().then(() => {
    drained = true;
  });
  first.open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(done, ["first"]);
  assert.equal(drained, false);
  second.open();
  await draining;
  assert.deepEqual(done, ["first", "second"]);
});

test("a failing task is logged and does not reject drain or reach the process", async () => {
  const logged: unknown[] = [];
  const logger = createLogger("background-test", "silent");
  logger.error = ((obj: unknown) => {
    logged.push(obj);
  }) as typeof logger.error;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on("unhandledRejection", onUnhandled);
  try {
    const background = createBackground(logger);
    const boom = new Error("boom");
    background.start("failing", async () => {
      throw boom;
    });
    await background.drain();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(logged, [{ err: boom, task: "failing" }]);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
