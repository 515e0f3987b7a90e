/**
 * UpdateProfile: changes only the fields present in the request and announces
 * the result as user.updated in the same transaction. Proto has bounded the
 * lengths, the display name's characters and that the avatar is an absolute
 * https URI; here the display name is trimmed and checked again, and the
 * avatar's scheme too, in case a caller skips proto validation. Text is stored exactly as given: it only ever reaches SQL as a
 * bound parameter, and escaping for HTML is the renderer's job.
 */
import type { NotificationLevel } from "@parley/proto/user/v1/user_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { notificationLevelMessage, notificationLevelName } from "@parley/shared/notification-levels.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { avatarUrlScheme, userNotFound } from "../errors.js";
import type { UserRow } from "../storage/schema.js";
import { type ProfileChanges, updateProfile as updateProfileRow } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";
import { displayNameToStore } from "./display-name.js";
import { getProfile } from "./get-profile.js";

export interface ProfileUpdate {
  displayName?: string | undefined;
  avatarUrl?: string | undefined;
  bio?: string | undefined;
  statusText?: string | undefined;
  notificationLevel?: NotificationLevel | undefined;
}

export async function updateProfile(domain: DomainDeps, caller: Identity, update: ProfileUpdate): Promise<UserRow> {
  // javascript:, data: and the like would run or track in whatever renders
  // the avatar; http would be mixed content on an https page.
  if (update.avatarUrl && !/^https:\/\//i.test(update.avatarUrl)) throw avatarUrlScheme();
  const changes: ProfileChanges = {};
  if (update.displayName !== undefined) changes.displayName = displayNameToStore(update.displayName);
  if (update.avatarUrl !== undefined) changes.avatarUrl = update.avatarUrl;
  if (update.bio !== undefined) changes.bio = update.bio;
  if (update.statusText !== undefined) changes.statusText = update.statusText;
  if (update.notificationLevel !== undefined) {
    const level = notificationLevelName(update.notificationLevel);
    // Proto validation refuses UNSPECIFIED and unknown values before we get here.
    if (!level) throw new Error(`validated request with notification level ${update.notificationLevel}`);
    changes.notificationLevel = level;
  }

  if (Object.keys(changes).length === 0) return getProfile(domain, caller);
  return domain.db.transaction(async (tx) => {
    const row = await updateProfileRow(tx, caller.userId, changes);
    if (!row) throw userNotFound();
    await enqueueEvent(tx, "user.updated", {
      userId: row.id,
      email: row.email,
      username: row.username,
      displayName: row.displayName,
      notificationLevel: notificationLevelMessage(row.notificationLevel),
    });
    return row;
  });
}
