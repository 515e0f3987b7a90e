import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PublicProfileSchema, UserSchema } from "@parley/proto/user/v1/user_pb.js";
import { notificationLevelMessage } from "@parley/shared/notification-levels.js";
import type { UserRow } from "../storage/schema.js";

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
    deactivated: row.deactivatedAt !== null,
  };
}
