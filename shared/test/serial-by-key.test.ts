import assert from "node:assert/strict";
import { test } from "node:test";
import { serialByKey } from "../src/serial-by-key.js";

test("one key's work runs in order, one at a time, past failures; other keys run alongside", async () => {
  const queue = serialByKey();
  const log: string[] = [];
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const a1 = queue.run("a", async () => {
    log.push("a1 start");
    await gate;
    log.push("a1 end");
    throw new Error("a1 failed");
  });
  const a2 = queue.run("a", async () => {
    log.push("a2");
    return 2;
  });
  const b1 = queue.run("b", async () => {
    log.push("b1");
    return 1;
  });
  assert.equal(await b1, 1);
  assert.deepEqual(log, ["a1 start", "b1"], "b ran while a1 was still running; a2 waited");
  open();
  await assert.rejects(a1, /a1 failed/);
  assert.equal(await a2, 2);
  assert.deepEqual(log, ["a1 start", "b1", "a1 end", "a2"]);
  await queue.settled();
});

test("settled waits for everything queued, including work that fails", async () => {
  const queue = serialByKey();
  let done = 0;
  const slow =
    (ms: number, fail = false) =>
    async () => {
      await new Promise((r) => setTimeout(r, ms));
      done++;
      if (fail) throw new Error("failed");
    };
  queue.run("a", slow(20, true)).catch(() => {});
  queue.run("a", slow(5)).catch(() => {});
  queue.run("b", slow(10)).catch(() => {});
  await queue.settled();
  assert.equal(done, 3);
});
