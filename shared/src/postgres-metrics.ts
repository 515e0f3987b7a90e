/**
 * PostgreSQL pool use. postgres.js keeps its connection queues to itself, so
 * what is measured is what the server sees: on each scrape, one query counts
 * this process's connections in pg_stat_activity by state ("active" runs a
 * statement, "idle in transaction" holds one open, "idle" waits in the pool),
 * next to the pool's size. The process's connections are told apart by their
 * application_name, which connectPostgres makes unique per process. The
 * scrape's own query is one of the "active".
 */
import { within } from "./deadline.js";
import { gauge } from "./metrics.js";
import type { Sql } from "./postgres.js";

let pool: { sql: Sql; max: number } | undefined;
let sampling: Promise<void> | undefined;

/** Reports `sql`'s pool on every scrape from now on (one pool per process: the component's own). */
export function measurePool(sql: Sql): void {
  pool = { sql, max: sql.options.max };
}

const STATES = ["active", "idle", "idle in transaction"] as const;

function samplePool(): Promise<void> {
  const current = pool;
  if (!current) return Promise.resolve();
  sampling ??= (async () => {
    poolMax.set(current.max);
    try {
      const rows = await within(
        current.sql<{ state: string | null; n: number }[]>`
          select state, count(*)::int as n from pg_stat_activity
          where application_name = current_setting('application_name')
          group by state`,
        1_000,
      );
      if (!rows) return;
      const counts = new Map(rows.map((r) => [r.state ?? "unknown", r.n]));
      for (const state of STATES) connections.labels(state).set(counts.get(state) ?? 0);
      let other = 0;
      for (const [state, n] of counts) if (!(STATES as readonly string[]).includes(state)) other += n;
      connections.labels("other").set(other);
    } catch {
      // The database is away: the last counts stay, the scrape still answers.
    }
  })().finally(() => {
    sampling = undefined;
  });
  return sampling;
}

const poolMax = gauge({
  name: "parley_postgres_pool_max_connections",
  help: "The most connections the process's PostgreSQL pool opens",
  collect: samplePool,
});

const connections = gauge<"state">({
  name: "parley_postgres_connections",
  help: "The process's open PostgreSQL connections by pg_stat_activity state (active: running a statement)",
  labelNames: ["state"],
  collect: samplePool,
});
