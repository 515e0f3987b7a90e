/**
 * Turns a delivery into a typed event, or says why it never can be: such a
 * delivery is dead-lettered, since redelivering it would fail the same way.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { eventSchemas } from "@parley/shared/events.js";
import { MAIL_ROUTING_KEYS } from "@parley/shared/topology.js";
import type { Message } from "amqplib";
import { isUuid, type MailEvent, type MailRoutingKey } from "./domain/mail-event.js";

export type Decoded = { ok: true; event: MailEvent } | { ok: false; reason: string };

function isMailRoutingKey(key: string): key is MailRoutingKey {
  return (MAIL_ROUTING_KEYS as readonly string[]).includes(key);
}

export function decodeDelivery(msg: Message): Decoded {
  const key = msg.fields.routingKey;
  if (!isMailRoutingKey(key)) return { ok: false, reason: `no mail is sent for routing key "${key}"` };
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
  const occurredAt = occurredAtOf(msg);
  try {
    switch (key) {
      case "user.otp.send":
        return {
          ok: true,
          event: { id, occurredAt, routingKey: key, payload: fromBinary(eventSchemas[key], msg.content) },
        };
      case "user.registered":
        return {
          ok: true,
          event: { id, occurredAt, routingKey: key, payload: fromBinary(eventSchemas[key], msg.content) },
        };
      case "message.sent":
        return {
          ok: true,
          event: { id, occurredAt, routingKey: key, payload: fromBinary(eventSchemas[key], msg.content) },
        };
    }
  } catch (err) {
    return {
      ok: false,
      reason: `malformed ${schema.typeName} body: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/** The relay's x-occurred-at header (ms precision), else the timestamp property (seconds). */
function occurredAtOf(msg: Message): Date | undefined {
  const header: unknown = msg.properties.headers?.["x-occurred-at"];
  if (typeof header === "string") {
    const ms = Date.parse(header);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  const seconds: unknown = msg.properties.timestamp;
  return typeof seconds === "number" && seconds > 0 ? new Date(seconds * 1000) : undefined;
}
