import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startTimerWheel } from "./realtime/timer-wheel.js";

test("every member is visited once per period, a slot per tick, and never after it is deleted", async () => {
  const visits: number[][] = [];
  // 1 s over 100 ms ticks: ten slots.
  const wheel = startTimerWheel<number>(1_000, (slot) => visits.push([...slot]));
  try {
    for (let i = 0; i < 100; i++) wheel.add(i);
    wheel.add(7); // already in: stays in its one slot
    wheel.delete(99);
    while (visits.length < 20) await sleep(50);
    const members = Array.from({ length: 99 }, (_, i) => i);
    for (const period of [visits.slice(0, 10), visits.slice(10, 20)]) {
      assert.deepEqual(
        period.flat().sort((a, b) => a - b),
        members,
        "each remaining member exactly once per ten ticks",
      );
      // Spread: ten slots of about ten members, not one burst of 99.
      for (const slot of period) assert.ok(slot.length >= 9 && slot.length <= 10, `slot of ${slot.length}`);
    }
  } finally {
    wheel.stop();
  }
});

test("a period shorter than the minimum tick gets a single slot", async () => {
  const visits: string[][] = [];
  const wheel = startTimerWheel<string>(50, (slot) => visits.push([...slot]));
  try {
    wheel.add("a");
    wheel.add("b");
    await sleep(130);
    assert.ok(visits.length >= 2);
    for (const v of visits) assert.deepEqual(v, ["a", "b"]);
  } finally {
    wheel.stop();
  }
});
