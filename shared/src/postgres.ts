import { randomBytes } from "node:crypto";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { boundedStep } from "./bounded-step.js";
import { appError, Code, type ConnectError } from "./errors.js";
import type { Logger } from "./logger.js";
import { hasActiveSpan, inSpan, SpanKind, tracingEnabled } from "./trace-context.js";

export type Sql = postgres.Sql;

/** Creates the database named in `databaseUrl` if it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error("DATABASE_URL names no database");
  url.pathname = "/postgres";
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as found from pg_database where datname = ${name}`;
    if (!row) await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } catch (err) {
    // Another instance created it between our check and our create.
    if ((err as { code?: string }).code !== "42P04") throw err;
  } finally {
    await admin.end();
  }
}

/**
 * Longest wait, in seconds, before a closed connection tries again. The
 * driver's own backoff grows with every failed attempt of the pool (not of
 * the connection) to 20 s: after an outage of a few seconds, connections
 * waited that long with the database back, and every query or reserve()
 * given to them with them.
 */
const RECONNECT_BACKOFF_MAX_S = 1;

/** 50 ms after the first failure, doubling, at most RECONNECT_BACKOFF_MAX_S. */
const reconnectBackoff = (retries: number): number => Math.min(0.05 * 2 ** retries, RECONNECT_BACKOFF_MAX_S);

/** Tells this process's connections from other instances' in pg_stat_activity (postgres-metrics.ts). */
const INSTANCE = randomBytes(4).toString("hex");

/** A pool whose connections say `<appName>:<instance>` in pg_stat_activity's application_name. */
export function connectPostgres(databaseUrl: string, opts: { max?: number; appName: string }): Sql {
  const sql = postgres(databaseUrl, {
    max: opts.max ?? 10,
    backoff: reconnectBackoff,
    onnotice: () => {},
    connection: { application_name: `${opts.appName}:${INSTANCE}` },
  });
  return tracingEnabled() ? traceTransactions(sql) : sql;
}

/**
 * postgres.js has no OpenTelemetry instrumentation: each transaction begun
 * for a traced request (drizzle's transaction() calls begin() too) becomes a
 * span of its own. Transactions outside any trace (the outbox relay's
 * polls) start none.
 */
function traceTransactions(sql: Sql): Sql {
  type Begin = (...args: unknown[]) => Promise<unknown>;
  const begin = (sql.begin as Begin).bind(sql);
  const traced: Begin = (...args) =>
    hasActiveSpan()
      ? inSpan("postgresql transaction", { kind: SpanKind.CLIENT, attributes: { "db.system": "postgresql" } }, () =>
          begin(...args),
        )
      : begin(...args);
  (sql as unknown as { begin: Begin }).begin = traced;
  return sql;
}

/**
 * Ends the pool: queries still running get a second to finish, then their
 * connections are dropped. On a server that has gone silent the driver's own
 * goodbye can wait too, so the whole is bounded.
 */
export async function closePostgres(sql: Sql, logger: Logger): Promise<void> {
  await boundedStep(logger, "ending the PostgreSQL connections", 2_000, sql.end({ timeout: 1 }));
}

/**
 * Errors that say the database cannot be reached right now, not that a
 * statement was wrong: the connection was lost or refused (postgres.js's
 * CONNECTION_* and CONNECT_TIMEOUT, the socket's errno codes), or the server
 * is shutting down, starting up or out of connections (SQLSTATE classes 08
 * and 57P, 53300). What failed with one may be tried again later.
 */
const UNREACHABLE_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "53300",
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return UNREACHABLE_CODES.has(code) || code.startsWith("08") || code.startsWith("57P");
}

/** What a caller gets for work the database could not take: `unavailable`, to be retried. */
export function databaseUnavailable(): ConnectError {
  return appError(Code.Unavailable, "DATABASE_UNAVAILABLE", "the database is unavailable; try again");
}

const MIGRATION_LOCK = 7_202_611;

/**
 * Applies the committed drizzle migrations. A session advisory lock on a
 * dedicated single connection keeps instances that start together from
 * racing each other.
 */
export async function applyMigrations(databaseUrl: string, migrationsFolder: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(drizzle(sql), { migrationsFolder });
  } finally {
    await sql.end();
  }
}
