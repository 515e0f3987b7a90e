/** Percentiles and formatting for the bench table. */

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : "n/a");
export const ratio = (ours: number, base: number) => (base > 0 ? `${(ours / base).toFixed(2)}×` : "n/a");

export function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  const [head, ...body] = rows;
  if (!head) return;
  process.stdout.write(`${line(head)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n`);
  for (const r of body) process.stdout.write(`${line(r)}\n`);
}

/**
 * Completions a second, measured from the first completion to the last: what
 * a step sustained. Dividing by the whole step instead would count the time
 * the last message took to arrive as time spent on all of them, and report a
 * system that kept up with 5,000 a second as doing 4,900.
 */
export class CompletionRate {
  private first = Number.NaN;
  private last = Number.NaN;
  count = 0;

  record(at: number): void {
    if (this.count === 0) this.first = at;
    this.last = at;
    this.count++;
  }

  perSecond(): number {
    return this.count > 1 ? (this.count - 1) / ((this.last - this.first) / 1000) : 0;
  }
}
