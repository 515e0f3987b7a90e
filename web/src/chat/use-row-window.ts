/** The timeline's RowWindow wired to React and the DOM: the scroll element, and each row's measured height. */
import { type RefObject, useCallback, useLayoutEffect, useMemo, useReducer, useState } from "react";
import { flushSync } from "react-dom";
import { RowWindow } from "./row-window.js";

export interface RowWindowHandle {
  window: RowWindow;
  /** The scroll element's ref (it also fills `scrollRef`). */
  scrollElement: (el: HTMLDivElement | null) => (() => void) | undefined;
  /** Each rendered row's ref; the row carries its key in `data-key`. */
  measureRow: (el: HTMLElement | null) => (() => void) | undefined;
}

export function useRowWindow<R extends { key: string }>(
  rows: readonly R[],
  estimate: (row: R) => number,
  scrollRef: RefObject<HTMLDivElement | null>,
  overscan: number,
): RowWindowHandle {
  const [, render] = useReducer((n: number) => n + 1, 0);
  // Scrolling and measuring re-render before the paint, or a frame would show blank space or overlapping rows.
  const [win] = useState(() => new RowWindow(overscan, (now) => (now ? flushSync(render) : render())));
  useMemo(
    () =>
      win.setRows(
        rows.map((r) => r.key),
        rows.map(estimate),
      ),
    [win, rows, estimate],
  );

  const [rowObserver] = useState(
    () =>
      new ResizeObserver((entries) =>
        win.measured(
          entries.map((e) => [
            (e.target as HTMLElement).dataset.key ?? "",
            e.borderBoxSize[0]?.blockSize ?? e.target.getBoundingClientRect().height,
          ]),
        ),
      ),
  );

  // Each row unobserves itself when it leaves (its ref's cleanup), so nothing is left observed on unmount.
  const measureRow = useCallback(
    (el: HTMLElement | null) => {
      if (!el) return undefined;
      rowObserver.observe(el);
      return () => rowObserver.unobserve(el);
    },
    [rowObserver],
  );

  const scrollElement = useCallback(
    (el: HTMLDivElement | null) => {
      scrollRef.current = el;
      if (!el) return undefined;
      win.attach(el);
      const onScroll = () => win.onScroll();
      const resized = new ResizeObserver(() => win.onResize());
      el.addEventListener("scroll", onScroll, { passive: true });
      resized.observe(el);
      render();
      return () => {
        el.removeEventListener("scroll", onScroll);
        resized.disconnect();
        win.attach(undefined);
        scrollRef.current = null;
      };
    },
    [win, scrollRef],
  );

  // After every render: hold the view still over rows that were just measured, or on the row asked for.
  useLayoutEffect(() => win.settle());

  return { window: win, scrollElement, measureRow };
}
