/**
 * The process's one Prometheus registry and the helpers every component's
 * metrics are declared with. Metrics are declared beside the code they
 * measure (Centrifugo's habit), at module level: a module is loaded once per
 * process, so each series is registered once however many apps a test
 * builds. Every name starts with `parley_` and uses base units (seconds,
 * bytes), as Prometheus' naming conventions ask.
 *
 * Hot paths take a pre-bound child (`.labels(...)` once, `.inc()` per event).
 * prom-client's own children hash their labels again on every increment, so
 * a counter on a per-frame path is a `hotCounter`: its children are plain
 * numbers, handed to prom-client only when scraped.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();

/** Request and call durations: 1 ms to 10 s. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Counts of things per batch: 1 to 5,000. */
export const SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export function counter<L extends string = never>(opts: {
  name: string;
  help: string;
  labelNames?: readonly L[];
}): Counter<L> {
  return new Counter<L>({ ...opts, registers: [registry] });
}

/** A counter child that costs one addition per increment. */
export interface HotCounterChild {
  inc(n?: number): void;
}

/**
 * A labelled counter for paths taken per message or frame: `labels(...)`
 * returns a child that adds to a plain number (bind it once); the counter
 * reads the numbers at each scrape.
 */
export function hotCounter<L extends string>(opts: {
  name: string;
  help: string;
  labelNames: readonly L[];
}): { labels(...values: string[]): HotCounterChild } {
  const children = new Map<string, { labels: Partial<Record<L, string>>; value: number }>();
  new Counter<L>({
    ...opts,
    registers: [registry],
    collect() {
      this.reset();
      for (const child of children.values()) this.inc(child.labels, child.value);
    },
  });
  return {
    labels(...values) {
      const key = values.join("\u0000");
      let child = children.get(key);
      if (!child) {
        const labels: Partial<Record<L, string>> = {};
        opts.labelNames.forEach((name, i) => {
          labels[name] = values[i] ?? "";
        });
        const created = { labels, value: 0 };
        children.set(key, created);
        child = created;
      }
      const counted = child;
      return {
        inc(n = 1) {
          counted.value += n;
        },
      };
    },
  };
}

export function gauge<L extends string = never>(opts: {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Runs on every scrape, to set the gauge from its source. */
  collect?: (this: Gauge<L>) => void | Promise<void>;
}): Gauge<L> {
  return new Gauge<L>({ ...opts, registers: [registry] });
}

export function histogram<L extends string = never>(opts: {
  name: string;
  help: string;
  labelNames?: readonly L[];
  buckets: readonly number[];
}): Histogram<L> {
  return new Histogram<L>({ ...opts, buckets: [...opts.buckets], registers: [registry] });
}

let processMetrics = false;

/**
 * prom-client's process and Node.js metrics (CPU, memory, file descriptors,
 * event loop lag, GC), named `parley_process_…`/`parley_nodejs_…`, and
 * `parley_component_info{component}` to tell the processes apart. Started by
 * the entry points only: the event loop monitor runs a timer tests need not.
 */
export function collectProcessMetrics(component: string): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, prefix: "parley_" });
  gauge({
    name: "parley_component_info",
    help: "Always 1; its label names the component this process runs",
    labelNames: ["component"],
  })
    .labels(component)
    .set(1);
}

/**
 * Seconds since `start` (a performance.now() reading): for histograms whose
 * observations are measured around awaited work.
 */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
