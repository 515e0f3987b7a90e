/**
 * Which of a long list's rows are on screen, for the timeline: rows have
 * their estimated height until they have been on screen, then their measured
 * one; only the rows in view (and `overscan` either side) are rendered.
 * Written for the timeline instead of a general virtualiser library: it does
 * the few things the timeline needs (keep the view still while rows above it
 * are measured, scroll to a row and stay there as heights settle) in a tenth
 * of the bytes, and the room page's first download is what every user waits on.
 * DOM-free apart from the scroll element it is given, so its arithmetic is
 * tested in Node (row-window.test.ts).
 */

export interface WindowRow {
  index: number;
  key: string;
  start: number;
  end: number;
}

export type Align = "start" | "center" | "end";

export interface ScrollBox {
  scrollTop: number;
  readonly clientHeight: number;
}

/** The first index whose row ends after `offset` (offsets: each row's start, then the total). */
export function rowAt(offsets: Float64Array, count: number, offset: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((offsets[mid + 1] as number) <= offset) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo);
}

export class RowWindow {
  private keys: string[] = [];
  private indexOf = new Map<string, number>();
  private offsets = new Float64Array(1);
  private readonly sizes = new Map<string, number>();
  private estimates: number[] = [];
  private box: ScrollBox | undefined;
  /** Where a scrollToIndex asked to be; kept (and re-applied as rows are measured) until the user scrolls. */
  private target: { key: string; align: Align; gap: number } | undefined;
  /** The scrollTop this window set last: a scroll event elsewhere is the user's. */
  private ownTop: number | undefined;
  private pendingShift = 0;
  /**
   * The row in the middle of the view when the rows last changed, and how far
   * below the view's top it started: rows put above it (an older page) must
   * not move what the user is reading.
   */
  private anchor: { key: string; delta: number } | undefined;
  private rendered: [number, number] = [-1, -1];

  constructor(
    private readonly overscan: number,
    /**
     * Asks for a render (the range in view or the rows' heights changed);
     * `now`: before the browser paints, from an event outside React's.
     */
    private readonly invalidate: (now: boolean) => void,
  ) {}

  /** The rows as they are now: keys and height estimates, in order. */
  setRows(keys: string[], estimates: number[]): void {
    // The first change since the last settle is the one measured against the view as it still is.
    const box = this.box;
    if (box && !this.anchor && this.keys.length > 0) {
      const i = rowAt(this.offsets, this.keys.length, box.scrollTop + box.clientHeight / 2);
      this.anchor = { key: this.keys[i] as string, delta: (this.offsets[i] as number) - box.scrollTop };
    }
    this.keys = keys;
    this.estimates = estimates;
    this.layout();
  }

  private layout(): void {
    const n = this.keys.length;
    const offsets = new Float64Array(n + 1);
    this.indexOf = new Map();
    for (let i = 0; i < n; i++) {
      const key = this.keys[i] as string;
      this.indexOf.set(key, i);
      offsets[i + 1] = (offsets[i] as number) + (this.sizes.get(key) ?? (this.estimates[i] as number));
    }
    this.offsets = offsets;
  }

  totalSize(): number {
    return this.offsets[this.keys.length] as number;
  }

  /** The rows to render (noted as rendered): those in view and `overscan` either side. */
  render(): WindowRow[] {
    const items = this.items();
    this.rendered = [items[0]?.index ?? 0, items.at(-1)?.index ?? -1];
    return items;
  }

  /** The rows in view and `overscan` either side. */
  items(): WindowRow[] {
    const [first, last] = this.range();
    const items: WindowRow[] = [];
    for (let i = first; i <= last; i++)
      items.push({
        index: i,
        key: this.keys[i] as string,
        start: this.offsets[i] as number,
        end: this.offsets[i + 1] as number,
      });
    return items;
  }

  private range(): [number, number] {
    const n = this.keys.length;
    if (n === 0) return [0, -1];
    const top = this.box?.scrollTop ?? 0;
    const height = this.box?.clientHeight ?? 0;
    const first = rowAt(this.offsets, n, top);
    const last = rowAt(this.offsets, n, top + height);
    return [Math.max(0, first - this.overscan), Math.min(n - 1, last + this.overscan)];
  }

  attach(box: ScrollBox | undefined): void {
    this.box = box;
    this.ownTop = undefined;
  }

  /** The scroll element scrolled or changed size. */
  onScroll(): void {
    const box = this.box;
    if (!box) return;
    // Not the scrollTop this window set: the user scrolled, and where they go wins over the last scrollToIndex.
    if (this.ownTop === undefined || Math.abs(box.scrollTop - this.ownTop) > 1) this.target = undefined;
    this.ownTop = undefined;
    this.invalidateIfMoved(true);
  }

  onResize(): void {
    this.settle();
    this.invalidateIfMoved(true);
  }

  private invalidateIfMoved(now: boolean): void {
    const [first, last] = this.range();
    if (first !== this.rendered[0] || last !== this.rendered[1]) this.invalidate(now);
  }

  /** Rows measured on screen; `heights` by key. */
  measured(heights: Iterable<[string, number]>): void {
    const top = this.box?.scrollTop ?? 0;
    let changed = false;
    for (const [key, height] of heights) {
      const index = this.indexOf.get(key);
      if (index === undefined) continue;
      const old = this.sizes.get(key) ?? (this.estimates[index] as number);
      if (Math.abs(old - height) < 0.5) continue;
      this.sizes.set(key, height);
      changed = true;
      // A row above the view's top changing height would move what the user is reading.
      if ((this.offsets[index] as number) < top) this.pendingShift += height - old;
    }
    if (!changed) return;
    this.layout();
    this.invalidate(true);
  }

  /** `gap`: with "start", room left above the row (what comes before it shows). */
  scrollToIndex(index: number, align: Align, gap = 0): void {
    const key = this.keys[index];
    if (key === undefined) return;
    this.target = { key, align, gap };
    this.settle();
    this.invalidateIfMoved(false);
  }

  /** After a render: keep the view still over re-measured rows, or on the asked-for row. */
  settle(): void {
    const box = this.box;
    if (!box) return;
    const shift = this.pendingShift;
    this.pendingShift = 0;
    const anchor = this.anchor;
    this.anchor = undefined;
    const target = this.target;
    const index = target ? this.indexOf.get(target.key) : undefined;
    const anchored = anchor ? this.indexOf.get(anchor.key) : undefined;
    if (target && index !== undefined)
      this.setTop(box, this.offsetFor(index, target.align, box.clientHeight, target.gap));
    // Where the anchored row is now says it all: rows measured since moved it too.
    else if (anchor && anchored !== undefined) this.setTop(box, (this.offsets[anchored] as number) - anchor.delta);
    else if (shift !== 0) this.setTop(box, box.scrollTop + shift);
  }

  private offsetFor(index: number, align: Align, viewport: number, gap: number): number {
    const start = this.offsets[index] as number;
    const end = this.offsets[index + 1] as number;
    const wanted = align === "start" ? start - gap : align === "end" ? end - viewport : (start + end - viewport) / 2;
    return Math.max(0, Math.min(wanted, this.totalSize() - viewport));
  }

  private setTop(box: ScrollBox, top: number): void {
    if (Math.abs(box.scrollTop - top) < 1) return;
    box.scrollTop = top;
    this.ownTop = box.scrollTop;
  }
}
