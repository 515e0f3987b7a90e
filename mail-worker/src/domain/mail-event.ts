import type { MessageSent, UserOtpSend, UserRegistered } from "@parley/proto/events/v1/events_pb.js";
import type { OutgoingMail } from "../mailer.js";

interface Delivered {
  /** The AMQP message id: the event id. */
  id: string;
  /** When the event happened, if the publisher said. */
  occurredAt: Date | undefined;
}

/** A decoded delivery of an event the worker mails for. */
export type MailEvent =
  | (Delivered & { routingKey: "user.otp.send"; payload: UserOtpSend })
  | (Delivered & { routingKey: "user.registered"; payload: UserRegistered })
  | (Delivered & { routingKey: "message.sent"; payload: MessageSent });

export type MailRoutingKey = MailEvent["routingKey"];

/** One mail, to one user: the unit the ledger records. */
export interface PlannedMail {
  recipientId: string;
  mail: OutgoingMail;
}

/** What the transport does with the delivery. */
export type Outcome =
  | { action: "ack"; result: "sent" | "duplicate" | "nothing-to-send"; mails: number }
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
