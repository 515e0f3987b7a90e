import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { NotificationLevel, type PublicProfileSchema, type UserSchema } from "@parley/proto/user/v1/user_pb.js";
import type { NotificationLevelName, UserRow } from "../storage/schema.js";

const LEVEL_TO_PROTO: Record<NotificationLevelName, NotificationLevel> = {
  all: NotificationLevel.ALL,
  mentions_and_direct: NotificationLevel.MENTIONS_AND_DIRECT,
  none: NotificationLevel.NONE,
};

export function notificationLevelMessage(name: NotificationLevelName): NotificationLevel {
  return LEVEL_TO_PROTO[name];
}

/** The stored name of a proto level; undefined for UNSPECIFIED (which proto validation refuses). */
export function notificationLevelName(level: NotificationLevel): NotificationLevelName | undefined {
  return (Object.keys(LEVEL_TO_PROTO) as NotificationLevelName[]).find((name) => LEVEL_TO_PROTO[name] === level);
}

/** The owner's view of an account: never the password hash. */
export function userMessage(row: UserRow): MessageInitShape<typeof UserSchema> {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    verified: row.verifiedAt !== null,
    createdAt: timestampFromDate(row.createdAt),
    displayName: row.displayName,
    avatarUrl: row.avatarUrl,
    bio: row.bio,
    statusText: row.statusText,
    notificationLevel: notificationLevelMessage(row.notificationLevel),
  };
}

/** What other signed-in users see: no email, no settings. */
export function publicProfileMessage(row: UserRow): MessageInitShape<typeof PublicProfileSchema> {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    avatarUrl: row.avatarUrl,
    bio: row.bio,
    statusText: row.statusText,
  };
}
