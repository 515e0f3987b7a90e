/**
 * Notification levels as user-svc and the mail worker store them (text
 * columns) and as they travel (the NotificationLevel enum): one list, and one
 * mapping each way, for both.
 */
import { NotificationLevel } from "@parley/proto/user/v1/user_pb.js";

export const NOTIFICATION_LEVELS = ["all", "mentions_and_direct", "none"] as const;
export type NotificationLevelName = (typeof NOTIFICATION_LEVELS)[number];

const TO_PROTO: Record<NotificationLevelName, NotificationLevel> = {
  all: NotificationLevel.ALL,
  mentions_and_direct: NotificationLevel.MENTIONS_AND_DIRECT,
  none: NotificationLevel.NONE,
};

export function notificationLevelMessage(name: NotificationLevelName): NotificationLevel {
  return TO_PROTO[name];
}

/** The stored name of a proto level; undefined for UNSPECIFIED and unknown values. */
export function notificationLevelName(level: NotificationLevel): NotificationLevelName | undefined {
  return NOTIFICATION_LEVELS.find((name) => TO_PROTO[name] === level);
}
