/**
 * `npm run migrate [-- component ...]` (built: `node dist/migrate.js`): creates
 * each named component's database when it does not exist yet and applies its
 * committed drizzle migrations, then exits. The Kubernetes migration Job runs
 * it before replicas start with MIGRATE_ON_START=false, so they need no
 * CREATEDB or DDL rights. Each component's DATABASE_URL is read with that
 * component's own parser and default; as one DATABASE_URL names one database,
 * a run that sets it migrates exactly one component.
 */
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, type Parser } from "@parley/shared/config.js";
import { applyMigrations, ensureDatabase } from "@parley/shared/postgres.js";
import postgres from "postgres";
import { configSpec as chatConfig } from "../chat-svc/src/config.js";
import { configSpec as mailConfig } from "../mail-worker/src/config.js";
import { configSpec as userConfig } from "../user-svc/src/config.js";

const components: Record<string, { databaseUrl: Parser<string>; migrations: URL }> = {
  "user-svc": { databaseUrl: userConfig.DATABASE_URL, migrations: new URL("../user-svc/drizzle", import.meta.url) },
  "chat-svc": { databaseUrl: chatConfig.DATABASE_URL, migrations: new URL("../chat-svc/drizzle", import.meta.url) },
  "mail-worker": {
    databaseUrl: mailConfig.DATABASE_URL,
    migrations: new URL("../mail-worker/drizzle", import.meta.url),
  },
};

const UNDEFINED_DATABASE = "3D000";

/** The URL without its password, for messages. */
function redacted(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password) url.password = "***";
  return url.toString();
}

/**
 * Creates the database only when it is missing: a managed PostgreSQL often
 * hands out a database whose owner may not connect to "postgres" or create
 * databases, and such a run must still migrate it.
 */
async function createIfMissing(databaseUrl: string): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`select 1`;
  } catch (err) {
    if ((err as { code?: string }).code !== UNDEFINED_DATABASE) throw err;
    await ensureDatabase(databaseUrl);
  } finally {
    await sql.end();
  }
}

function usage(problem: string): never {
  process.stderr.write(`migrate: ${problem}\nusage: migrate [${Object.keys(components).join(" | ")} ...]\n`);
  process.exit(2);
}

const names = process.argv.slice(2);
const chosen = names.length > 0 ? names : Object.keys(components);
for (const name of chosen) if (!(name in components)) usage(`unknown component "${name}"`);
if (chosen.length > 1 && (process.env.DATABASE_URL ?? "").trim() !== "") {
  usage("DATABASE_URL names one database: name the one component it belongs to");
}

let failed = false;
for (const name of chosen) {
  const component = components[name];
  if (!component) continue;
  let databaseUrl: string;
  try {
    databaseUrl = loadConfig({ DATABASE_URL: component.databaseUrl }, process.env).DATABASE_URL;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`migrate: ${name}: ${err.message}\n`);
    failed = true;
    continue;
  }
  try {
    await createIfMissing(databaseUrl);
    await applyMigrations(databaseUrl, fileURLToPath(component.migrations));
    process.stdout.write(`migrate: ${name}: ${redacted(databaseUrl)} is up to date\n`);
  } catch (err) {
    process.stderr.write(
      `migrate: ${name}: could not migrate ${redacted(databaseUrl)} (DATABASE_URL): ${(err as Error).message}\n`,
    );
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
