/**
 * Dead letters as operators see them: where each came from and why it died.
 * Shared by `npm run queues` (looks) and `npm run admin -- dead-letters` (lists, replays, purges).
 */
import { HEADERS } from "@parley/shared/topology.js";
import type { GetMessage } from "amqplib";

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}

function firstDeath(msg: GetMessage): Record<string, unknown> | undefined {
  const deaths = msg.properties.headers?.["x-death"];
  return Array.isArray(deaths) ? (deaths[0] as Record<string, unknown> | undefined) : undefined;
}

/**
 * The routing key the event was first published with: the mail worker's copies
 * carry it in a header; a message the broker dead-lettered (chat-svc's rejects)
 * keeps it in x-death.
 */
export function originalRoutingKey(msg: GetMessage): string {
  const fromHeader = text(msg.properties.headers?.[HEADERS.originalRoutingKey]);
  if (fromHeader) return fromHeader;
  const keys = firstDeath(msg)?.["routing-keys"];
  if (Array.isArray(keys) && keys.length > 0) return text(keys[0]);
  return msg.fields.routingKey;
}

/** Two lines: "<n>. <routing key>  id …  at …  after N attempts" and "   reason: …". */
export function describeDeadLetter(msg: GetMessage, n: number): string {
  const h = msg.properties.headers ?? {};
  const death = firstDeath(msg);
  const reason = text(h[HEADERS.reason]) || (death ? `dropped by the broker: ${text(death.reason)}` : "(no reason)");
  const when = text(h[HEADERS.failedAt]);
  const attempts = text(h[HEADERS.attempt]);
  return (
    `${n}. ${originalRoutingKey(msg)}  id ${text(msg.properties.messageId) || "(none)"}` +
    `${when ? `  at ${when}` : ""}${attempts ? `  after ${Number(attempts) + 1} attempts` : ""}\n` +
    `   reason: ${reason}\n`
  );
}
