import type { MessageShape } from "@bufbuild/protobuf";
import type { eventSchemas } from "@parley/shared/events.js";
import type { MAIL_ROUTING_KEYS } from "@parley/shared/topology.js";

/** Every routing key the worker consumes. */
export type MailRoutingKey = (typeof MAIL_ROUTING_KEYS)[number];

interface Delivered {
  /** The AMQP message id: the event id. */
  id: string;
  /** When the event happened, if the publisher said. */
  occurredAt: Date | undefined;
}

/** A decoded delivery: the routing key and its payload type always match. */
export type MailEvent = {
  [K in MailRoutingKey]: Delivered & { routingKey: K; payload: MessageShape<(typeof eventSchemas)[K]> };
}[MailRoutingKey];

export type EventOf<K extends MailRoutingKey> = Extract<MailEvent, { routingKey: K }>;

/** What the transport does with the delivery. */
export type Outcome =
  | {
      action: "ack";
      result: "sent" | "duplicate" | "nothing-to-send" | "queued" | "applied";
      /** Mails accepted by the SMTP server (or the mailbox) and recorded. */
      mails: number;
    }
  | { action: "retry"; reason: string }
  | { action: "dead-letter"; reason: string };

export interface MailContext {
  /** PUBLIC_URL without a trailing slash. */
  publicUrl: string;
}

/** Why an event cannot be handled however often it is retried. */
export class InvalidEvent extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function requireUuid(value: string, field: string): string {
  if (!isUuid(value)) throw new InvalidEvent(`${field} is not a UUID (got "${value}")`);
  return value;
}

export function requireText(value: string, field: string): string {
  if (value.trim() === "") throw new InvalidEvent(`${field} is empty`);
  return value;
}
