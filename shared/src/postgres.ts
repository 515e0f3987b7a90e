import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

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

export function connectPostgres(databaseUrl: string, opts: { max?: number; appName: string }): Sql {
  return postgres(databaseUrl, {
    max: opts.max ?? 10,
    onnotice: () => {},
    connection: { application_name: opts.appName },
  });
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
