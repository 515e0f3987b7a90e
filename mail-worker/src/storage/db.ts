import type { Sql } from "@parley/shared/postgres.js";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import * as schema from "./schema.js";

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export function createDb(sql: Sql): Db {
  return drizzle(sql, { schema });
}
