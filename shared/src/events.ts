/**
 * The domain events by routing key. Payloads are the parley.events.v1
 * messages; everything about delivery (id, type, time, trace) travels in AMQP
 * properties and headers.
 */
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import {
  MessageDeletedSchema,
  MessageSentSchema,
  RoomMembersChangedSchema,
  RoomReadSchema,
  UserDeactivatedSchema,
  UserOnlineSchema,
  UserOtpSendSchema,
  UserReactivatedSchema,
  UserRegisteredSchema,
  UserRegistrationAttemptedSchema,
  UserUpdatedSchema,
} from "@parley/proto/events/v1/events_pb.js";
import type { MessageProperties } from "amqplib";

export const eventSchemas = {
  "user.otp.send": UserOtpSendSchema,
  "user.registered": UserRegisteredSchema,
  "user.registration.attempted": UserRegistrationAttemptedSchema,
  "user.updated": UserUpdatedSchema,
  "user.deactivated": UserDeactivatedSchema,
  "user.reactivated": UserReactivatedSchema,
  "message.sent": MessageSentSchema,
  "message.deleted": MessageDeletedSchema,
  "room.members": RoomMembersChangedSchema,
  "room.read": RoomReadSchema,
  "user.online": UserOnlineSchema,
} as const satisfies Record<string, DescMessage>;

export type RoutingKey = keyof typeof eventSchemas;

export type EventInit<K extends RoutingKey> = MessageInitShape<(typeof eventSchemas)[K]>;

export function isRoutingKey(key: string): key is RoutingKey {
  return Object.hasOwn(eventSchemas, key);
}

/** When a delivered event occurred: the relay's x-occurred-at header (ms precision), else the timestamp property (seconds). */
export function occurredAtOf(msg: { properties: MessageProperties }): Date | undefined {
  const header: unknown = msg.properties.headers?.["x-occurred-at"];
  if (typeof header === "string") {
    const ms = Date.parse(header);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  const seconds: unknown = msg.properties.timestamp;
  return typeof seconds === "number" && seconds > 0 ? new Date(seconds * 1000) : undefined;
}
