/**
 * Many outbox events in one INSERT, for the batched send path. Rows are the
 * ones `enqueueEvent` (@parley/shared/outbox.js) writes one at a time, and
 * the shared relay publishes them alike.
 */
import { randomBytes } from "node:crypto";
import type { OutboxEvent } from "@parley/shared/outbox.js";

/** A fresh W3C traceparent per event, from one draw of randomness for the batch. */
function traceparents(n: number): string[] {
  const random = randomBytes(24 * n).toString("hex");
  return Array.from(
    { length: n },
    (_, i) => `00-${random.slice(i * 48, i * 48 + 32)}-${random.slice(i * 48 + 32, i * 48 + 48)}-01`,
  );
}

/** The events as one JSON text parameter: rows of (id, routingKey, type, payload base64, traceparent), in order. */
export function outboxJson(events: readonly OutboxEvent[]): string {
  const tps = traceparents(events.length);
  return JSON.stringify(
    events.map((e, i) => ({
      id: e.id,
      routingKey: e.routingKey,
      type: e.type,
      payload: e.payload.toString("base64"),
      traceparent: tps[i],
    })),
  );
}
