import type { Sql } from "@parley/shared/postgres.js";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase } from "drizzle-orm/pg-core";
import { drizzle, type PostgresJsQueryResultHKT } from "drizzle-orm/postgres-js";
import * as schema from "./schema.js";

export type Schema = typeof schema;

export type Db = ReturnType<typeof createDb>;

/** A database handle or a transaction: what queries and access checks accept. */
export type Queryable = PgDatabase<PostgresJsQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

export function createDb(sql: Sql) {
  return drizzle(sql, { schema });
}
