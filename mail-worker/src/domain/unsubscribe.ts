/**
 * The unsubscribe link in every notification: a token naming the user,
 * signed with a key derived from JWT_SECRET (so it is never mistaken for, or
 * usable as, an access token). It does not expire: a link in an old mail
 * must still work.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Db } from "../storage/db.js";
import { markUnsubscribed } from "../storage/recipients.js";
import { isUuid } from "./mail-event.js";

export interface UnsubscribeTokens {
  sign(userId: string): string;
  /** The user id, or undefined for a forged, truncated or malformed token. */
  verify(token: string): string | undefined;
}

export function unsubscribeTokens(secret: string): UnsubscribeTokens {
  const key = createHmac("sha256", secret).update("parley mail-worker unsubscribe v1").digest();
  const mac = (userId: string) => createHmac("sha256", key).update(userId).digest();
  return {
    sign: (userId) => `${userId}.${mac(userId).toString("base64url")}`,
    verify(token) {
      const [userId, signature, ...rest] = token.split(".");
      if (rest.length > 0 || !userId || !signature || !isUuid(userId)) return undefined;
      const given = Buffer.from(signature, "base64url");
      const expected = mac(userId);
      return given.length === expected.length && timingSafeEqual(given, expected) ? userId : undefined;
    },
  };
}

/** No notification mail for the user from now on (until they pick a notification level in Parley). */
export async function unsubscribe(db: Db, userId: string): Promise<boolean> {
  return markUnsubscribed(db, userId);
}
