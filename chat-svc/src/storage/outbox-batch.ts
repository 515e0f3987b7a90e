/**
 * Many outbox events in one INSERT, for the batched send path. Rows are the
 * ones `enqueueEvent` (@parley/shared/outbox.js) writes one at a time, and
 * the shared relay publishes them alike.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { type EventInit, eventSchemas, type RoutingKey } from "@parley/shared/events.js";
import { OUTBOX_NOTIFY_CHANNEL } from "@parley/shared/outbox.js";
import type { TransactionSql } from "postgres";

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
    payload: Buffer.from(toBinary(schema, create(schema, payload as never))),
  };
}

/** A fresh W3C traceparent per event, from one draw of randomness for the batch. */
function traceparents(n: number): string[] {
  const random = randomBytes(24 * n).toString("hex");
  return Array.from(
    { length: n },
    (_, i) => `00-${random.slice(i * 48, i * 48 + 32)}-${random.slice(i * 48 + 32, i * 48 + 48)}-01`,
  );
}

/** Inserts the events in order (their relay order) and wakes the relay at commit. */
export async function insertOutboxEvents(tx: TransactionSql, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const tps = traceparents(events.length);
  const json = JSON.stringify(
    events.map((e, i) => ({
      id: e.id,
      routingKey: e.routingKey,
      type: e.type,
      payload: e.payload.toString("base64"),
      traceparent: tps[i],
    })),
  );
  await Promise.all([
    // ORDINALITY keeps the array's order for the position sequence.
    tx`
      insert into outbox (id, routing_key, type, payload, headers)
      select id, routing_key, type, decode(payload, 'base64'), jsonb_build_object('traceparent', traceparent)
      from rows from (
        json_to_recordset(${json}::text::json)
          as ("id" uuid, "routingKey" text, "type" text, "payload" text, "traceparent" text)
      ) with ordinality as e(id, routing_key, type, payload, traceparent, n)
      order by n`,
    tx`select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`,
  ]);
}
