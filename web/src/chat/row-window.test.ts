import assert from "node:assert/strict";
import { test } from "node:test";
import { RowWindow, rowAt, type ScrollBox } from "./row-window.js";

/** A scroll element: scrollTop clamped to the content, as a browser does. */
function box(win: () => RowWindow, clientHeight: number): ScrollBox {
  let top = 0;
  return {
    clientHeight,
    get scrollTop() {
      return top;
    },
    set scrollTop(v: number) {
      top = Math.max(0, Math.min(v, win().totalSize() - clientHeight));
    },
  };
}

function rows(n: number, height = 50) {
  const keys = Array.from({ length: n }, (_, i) => `m${i}`);
  return { keys, estimates: keys.map(() => height) };
}

function setup(n: number, viewport = 500) {
  const renders: boolean[] = [];
  const win = new RowWindow(2, (now) => renders.push(now));
  const { keys, estimates } = rows(n);
  win.setRows(keys, estimates);
  const b = box(() => win, viewport);
  win.attach(b);
  return { win, box: b, renders, keys, estimates };
}

test("rowAt finds the row an offset falls in", () => {
  const offsets = Float64Array.from([0, 10, 30, 60]);
  assert.equal(rowAt(offsets, 3, 0), 0);
  assert.equal(rowAt(offsets, 3, 9.9), 0);
  assert.equal(rowAt(offsets, 3, 10), 1);
  assert.equal(rowAt(offsets, 3, 59), 2);
  assert.equal(rowAt(offsets, 3, 1000), 2);
});

test("only the rows in view and the overscan are rendered, however long the list", () => {
  const { win, box } = setup(10_000);
  box.scrollTop = 250_000;
  win.onScroll();
  const items = win.render();
  assert.equal(items[0]?.index, 5000 - 2);
  assert.equal(items.at(-1)?.index, 5010 + 2);
  assert.equal(items[2]?.start, 250_000);
  assert.equal(win.totalSize(), 500_000);
});

test("a scroll re-renders (before the paint) only when the range in view changes", () => {
  const { win, box, renders } = setup(100);
  win.render();
  box.scrollTop = 10;
  win.onScroll();
  assert.deepEqual(renders, []);
  box.scrollTop = 120;
  win.onScroll();
  assert.deepEqual(renders, [true]);
});

test("measured rows above the view move the view by their difference, so what is read stays put", () => {
  const { win, box } = setup(100);
  box.scrollTop = 1000; // row 20 at the top
  win.onScroll();
  win.measured([
    ["m5", 80], // above: +30
    ["m19", 40], // above: -10
    ["m25", 200], // in view: no shift
  ]);
  win.settle();
  assert.equal(box.scrollTop, 1020);
  assert.equal(win.items().find((r) => r.key === "m20")?.start, 1020);
  assert.equal(win.totalSize(), 5000 + 30 - 10 + 150);
});

test("scrollToIndex stays on its row as rows are measured, until the user scrolls", () => {
  const { win, box, keys } = setup(100);
  win.scrollToIndex(99, "end");
  assert.equal(box.scrollTop, 5000 - 500);
  win.onScroll(); // the event for the window's own scroll
  win.measured(keys.slice(90).map((k) => [k, 70]));
  win.settle();
  assert.equal(box.scrollTop, 5200 - 500, "still at the bottom after the last rows grew");

  box.scrollTop = 1000; // the user
  win.onScroll();
  win.measured([["m99", 100]]);
  win.settle();
  assert.equal(box.scrollTop, 1000);
});

test("center and start alignment, clamped to the content", () => {
  const { win, box } = setup(100);
  win.scrollToIndex(50, "center");
  assert.equal(box.scrollTop, 2500 + 25 - 250);
  win.scrollToIndex(50, "start");
  assert.equal(box.scrollTop, 2500);
  win.scrollToIndex(0, "end");
  assert.equal(box.scrollTop, 0);
});

test("measured heights follow a row by key when older rows are put above it", () => {
  const { win, estimates } = setup(10);
  win.measured([["m0", 120]]);
  const older = Array.from({ length: 5 }, (_, i) => `old${i}`);
  win.setRows([...older, ...rows(10).keys], [...older.map(() => 50), ...estimates]);
  const m0 = win.items().find((r) => r.key === "m0");
  assert.deepEqual([m0?.index, m0?.start, m0?.end], [5, 250, 370]);
});

test("rows put above the view (an older page) leave what is in the middle of the view where it was", () => {
  const { win, box, keys, estimates } = setup(100);
  box.scrollTop = 1000;
  win.onScroll();
  win.settle();
  // m30 is at the view's middle (1000 + 250 = 1500 = 30 × 50).
  const older = rows(40, 80);
  win.setRows([...older.keys.map((k) => `o${k}`), ...keys], [...older.estimates, ...estimates]);
  win.settle();
  assert.equal(box.scrollTop, 1000 + 40 * 80);
  // Rows added below change nothing.
  win.setRows([...older.keys.map((k) => `o${k}`), ...keys, "n1", "n2"], [...older.estimates, ...estimates, 50, 50]);
  win.settle();
  assert.equal(box.scrollTop, 1000 + 40 * 80);
});

test("start alignment can leave room above the row, for what comes before it", () => {
  const { win, box } = setup(100);
  win.scrollToIndex(40, "start", 30);
  assert.equal(box.scrollTop, 40 * 50 - 30);
  win.scrollToIndex(0, "start", 30);
  assert.equal(box.scrollTop, 0, "clamped to the top");
});
