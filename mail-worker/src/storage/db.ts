import type { Sql } from "@parley/shared/postgres.js";
import { sql as dsql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import * as schema from "./schema.js";

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

// Raw SQL parameters bypass drizzle's column mapping (and postgres.js's Date serializer, which drizzle replaces).
export const at = (d: Date) => dsql`${d.toISOString()}::timestamptz`;

export function createDb(sql: Sql): Db {
  return drizzle(sql, { schema });
}
