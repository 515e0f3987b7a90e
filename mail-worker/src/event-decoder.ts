/**
 * Turns a delivery into a typed event, or says why it never can be: such a
 * delivery is dead-lettered, since redelivering it would fail the same way.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { eventSchemas, occurredAtOf, type RoutingKey } from "@parley/shared/events.js";
import { HEADERS, MAIL_ROUTING_KEYS } from "@parley/shared/topology.js";
import type { Message } from "amqplib";
import { isUuid, type MailEvent, type MailRoutingKey } from "./domain/mail-event.js";

export type Decoded = { ok: true; event: MailEvent } | { ok: false; reason: string };

// Every key the worker is bound to must be a known event.
const consumed: readonly RoutingKey[] = MAIL_ROUTING_KEYS;

function isMailRoutingKey(key: string): key is MailRoutingKey {
  return consumed.includes(key as RoutingKey);
}

/** A retried event comes back through the default exchange, which replaced its routing key with a queue name. */
export function routingKeyOf(msg: Message): string {
  const original: unknown = msg.properties.headers?.[HEADERS.originalRoutingKey];
  return typeof original === "string" && original !== "" ? original : msg.fields.routingKey;
}

export function decodeDelivery(msg: Message): Decoded {
  const key = routingKeyOf(msg);
  if (!isMailRoutingKey(key)) return { ok: false, reason: `unknown event: the worker handles no routing key "${key}"` };
  const id: unknown = msg.properties.messageId;
  // The id is what makes a redelivery recognisable; without it the event could be mailed twice.
  if (typeof id !== "string" || !isUuid(id)) {
    return { ok: false, reason: `message id ${JSON.stringify(id)} is not a UUID` };
  }
  const schema = eventSchemas[key];
  const type: unknown = msg.properties.type;
  if (type && type !== schema.typeName) {
    return { ok: false, reason: `type "${String(type)}" does not match routing key ${key} (${schema.typeName})` };
  }
  let payload: MailEvent["payload"];
  try {
    payload = fromBinary(schema, msg.content);
  } catch (err) {
    return {
      ok: false,
      reason: `malformed ${schema.typeName} body: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  // The payload was decoded with the schema of `key`, so the pair matches; TypeScript cannot follow that through the lookup.
  return { ok: true, event: { id, occurredAt: occurredAtOf(msg), routingKey: key, payload } as MailEvent };
}
