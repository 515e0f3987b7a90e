/**
 * Transactional outbox. A service writes each domain event in the same
 * transaction as the state change it describes (`enqueueEvent`, or
 * `insertOutboxRows` inside a statement of its own); the relay
 * (outbox-relay.ts) publishes committed events. A rolled-back transaction
 * never emits one. This module knows the table, not the broker.
 */

import { randomUUID } from "node:crypto";
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { sql as dsql } from "drizzle-orm";
import type { PgDatabase } from "drizzle-orm/pg-core";
import { bigserial, customType, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { PostgresJsQueryResultHKT } from "drizzle-orm/postgres-js";
import { bufferView } from "./buffer-view.js";
import { within } from "./deadline.js";
import { type EventInit, eventSchemas, type RoutingKey } from "./events.js";
import { gauge } from "./metrics.js";
import type { Sql } from "./postgres.js";
import { inSpan, SpanKind, traceHeaders, tracingEnabled } from "./trace-context.js";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

/** Include this table in a service's drizzle schema so its migrations create it. */
export const outbox = pgTable("outbox", {
  // Relay order: commit order is unknowable, so insertion order stands in.
  position: bigserial("position", { mode: "number" }).primaryKey(),
  id: uuid("id").notNull().unique(),
  routingKey: text("routing_key").notNull(),
  type: text("type").notNull(),
  payload: bytea("payload").notNull(),
  headers: jsonb("headers").$type<Record<string, string>>().notNull(),
  occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull().defaultNow(),
});

/** The relay LISTENs here; a statement that writes outbox rows notifies it too. */
export const OUTBOX_NOTIFY_CHANNEL = "parley_outbox";

// biome-ignore lint/suspicious/noExplicitAny: accepts any service's db or transaction, whatever its schema type
type Tx = PgDatabase<PostgresJsQueryResultHKT, any, any>;

/** An outbox row's event fields: a fresh id, the routing key, the message type and the binary message. */
export interface OutboxEvent {
  id: string;
  routingKey: RoutingKey;
  type: string;
  payload: Buffer;
}

export function outboxEvent<K extends RoutingKey>(key: K, payload: EventInit<K>): OutboxEvent {
  const schema: DescMessage = eventSchemas[key];
  return {
    id: randomUUID(),
    routingKey: key,
    type: schema.typeName,
    payload: bufferView(toBinary(schema, create(schema, payload as never))),
  };
}

/**
 * A template tag taking one parameter: postgres.js's `sql` (the statement
 * becomes a fragment of the caller's) or drizzle's `sql`. The row layout is
 * written once, whichever client writes the rows.
 */
export type SqlTag<Q> = (strings: TemplateStringsArray, rowsJson: string) => Q;

/**
 * The INSERT that writes `events` as outbox rows in order (their relay
 * order), each with `headers`: by default the W3C trace context of the work
 * writing them (traceHeaders), which the relay publishes, so that the
 * consumers' spans join the trace of the request that caused the event;
 * none when tracing is off. Every row travels in one JSON text parameter
 * expanded by json_to_recordset(): JSON.stringify is native code, binding
 * five parameters per row or escaping array literals in JS is not, and
 * chat-svc writes a send batch's hundreds of rows in one statement.
 * Usable as a data-modifying WITH clause; the caller notifies
 * OUTBOX_NOTIFY_CHANNEL in the same transaction.
 */
export function insertOutboxRows<Q>(
  tag: SqlTag<Q>,
  events: readonly OutboxEvent[],
  headers: Readonly<Record<string, string>> = traceHeaders(),
): Q {
  const rowsJson = JSON.stringify(
    events.map((e) => ({
      id: e.id,
      routingKey: e.routingKey,
      type: e.type,
      payload: e.payload.toString("base64"),
      headers,
    })),
  );
  // ORDINALITY keeps the array's order for the outbox position sequence (relay order).
  return tag`
      insert into outbox (id, routing_key, type, payload, headers)
      select id, routing_key, type, decode(payload, 'base64'), headers
      from rows from (
        json_to_recordset(${rowsJson}::text::json)
          as ("id" uuid, "routingKey" text, "type" text, "payload" text, "headers" jsonb)
      ) with ordinality as e(id, routing_key, type, payload, headers, n)
      order by n`;
}

/** Adds an event to the outbox inside the caller's transaction; returns its id. */
export async function enqueueEvent<K extends RoutingKey>(tx: Tx, key: K, payload: EventInit<K>): Promise<string> {
  const event = outboxEvent(key, payload);
  const write = async () => {
    const written = insertOutboxRows(dsql, [event]);
    // One statement; the notice is delivered at commit, and only if the transaction commits.
    await tx.execute(dsql`with written as (${written}) select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`);
    return event.id;
  };
  if (!tracingEnabled()) return write();
  // The row stores this span's context: the relay's publish, and the consumers after it, are its children.
  return inSpan(
    `outbox enqueue ${key}`,
    { kind: SpanKind.PRODUCER, attributes: { "messaging.destination.name": key, "messaging.message.id": event.id } },
    write,
  );
}

/**
 * The outbox's backlog (rows committed and not yet relayed) and the age of its
 * oldest row, read on each scrape with one query that reads the table (kept
 * small: the relay deletes what it published). A scrape that cannot read it
 * within a second leaves both at their last values.
 */
export function measureOutboxBacklog(sql: Sql): void {
  backlogSource = sql;
}

let backlogSource: Sql | undefined;
let sampling: Promise<void> | undefined;

/** One query per scrape, shared by both gauges (a registry collects its metrics concurrently). */
function sampleBacklog(): Promise<void> {
  const sql = backlogSource;
  if (!sql) return Promise.resolve();
  sampling ??= (async () => {
    try {
      const rows = await within(
        sql<{ n: number; age: number }[]>`
          select count(*)::int as n,
            coalesce(extract(epoch from clock_timestamp() - min(occurred_at)), 0)::float8 as age
          from outbox`,
        1_000,
      );
      const row = rows?.[0];
      if (row) {
        outboxBacklog.set(row.n);
        outboxOldestAge.set(Math.max(0, row.age));
      }
    } catch {
      // The database is away: the gauges keep their last values, the scrape still answers.
    }
  })().finally(() => {
    sampling = undefined;
  });
  return sampling;
}

const outboxBacklog = gauge({
  name: "parley_outbox_backlog",
  help: "Outbox rows committed and not yet published to RabbitMQ",
  collect: sampleBacklog,
});

const outboxOldestAge = gauge({
  name: "parley_outbox_oldest_age_seconds",
  help: "Age of the oldest outbox row not yet published (0 when the outbox is empty)",
  collect: sampleBacklog,
});
