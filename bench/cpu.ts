/**
 * CPU time per process group from /proc, so the bench can say where the two
 * cores went during a step (the load generator is this process).
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

function ticksOf(pid: number): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim().startsWith(name)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

export type CpuGroups = Record<string, () => number[]>;

/** Groups: named lists of pids, re-read at each sample (PostgreSQL starts backends as it goes). */
export function cpuGroups(components: Record<string, number>): CpuGroups {
  const groups: CpuGroups = {};
  for (const [name, pid] of Object.entries(components)) groups[name] = () => [pid];
  groups.postgres = () => pidsNamed("postgres");
  groups.redis = () => pidsNamed("redis-server");
  groups.rabbitmq = () => pidsNamed("beam.smp");
  return groups;
}

/** Busy ticks of the whole machine (all cores), from the first line of /proc/stat. */
function machineTicks(): number {
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const [user, nice, system, , , irq, softirq, steal] = (readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return [user, nice, system, irq, softirq, steal].reduce<number>((sum, t) => sum + (t ?? 0), 0);
}

export function sampleCpu(groups: CpuGroups): Map<string, number> {
  const out = new Map<string, number>();
  out.set("machine", machineTicks());
  for (const [name, pids] of Object.entries(groups))
    out.set(
      name,
      pids().reduce((sum, pid) => sum + ticksOf(pid), 0),
    );
  return out;
}

/** Cores used by each group between two samples taken `seconds` apart, e.g. "edge 0.61 · chat-svc 0.40". */
export function coresUsed(before: Map<string, number>, after: Map<string, number>, seconds: number): string {
  return [...after.entries()]
    .map(([name, t]) => `${name} ${((t - (before.get(name) ?? 0)) / TICKS_PER_SECOND / seconds).toFixed(2)}`)
    .join(" · ");
}
