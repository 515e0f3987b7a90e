import { fileURLToPath } from "node:url";
import { applyMigrations, ensureDatabase } from "@parley/shared/postgres.js";

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** Creates the database if needed and applies the committed migrations. */
export async function prepareDatabase(databaseUrl: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl, migrationsFolder);
}
