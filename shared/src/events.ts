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
  UserOnlineSchema,
  UserOtpSendSchema,
  UserRegisteredSchema,
  UserRegistrationAttemptedSchema,
  UserUpdatedSchema,
} from "@parley/proto/events/v1/events_pb.js";

export const eventSchemas = {
  "user.otp.send": UserOtpSendSchema,
  "user.registered": UserRegisteredSchema,
  "user.registration.attempted": UserRegistrationAttemptedSchema,
  "user.updated": UserUpdatedSchema,
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
