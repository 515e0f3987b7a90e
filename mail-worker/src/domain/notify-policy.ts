/**
 * Who hears about a message by mail, decided twice: when the message is
 * sent (is a notification worth queueing?) and when its digest is due (is it
 * still worth mailing?). Users get mail only for what they missed and asked
 * for: not while online, not once read, not beyond their notification level,
 * never after unsubscribing, never while the account is deactivated.
 */
import type { NotificationLevelName } from "@parley/shared/notification-levels.js";

export type SkipReason = "deactivated" | "unsubscribed" | "level-none" | "not-mentioned-or-direct" | "online" | "read";

export interface RecipientChoice {
  notificationLevel: NotificationLevelName;
  unsubscribed: boolean;
  deactivated: boolean;
}

export interface MessageFacts {
  seq: bigint;
  mentioned: boolean;
  direct: boolean;
}

export interface RecipientState {
  online: boolean;
  /** Absent if the user never read the room. */
  lastReadSeq: bigint | undefined;
}

/**
 * Undefined: mail it (or, when queueing, keep it for the digest to decide).
 *
 * When queueing, being online skips only plain room messages. A mention or a
 * direct message is kept, because the presence the worker knows may be a
 * moment old: the offline transition of someone who closed their last tab
 * just before being mentioned travels as its own event and can be handled
 * after the message. The digest decides again when it is due, with the
 * presence and read marker of that moment.
 */
export function skipReason(
  r: RecipientChoice,
  m: MessageFacts,
  s: RecipientState,
  at: "queue" | "send" = "send",
): SkipReason | undefined {
  if (r.deactivated) return "deactivated";
  if (r.unsubscribed) return "unsubscribed";
  if (r.notificationLevel === "none") return "level-none";
  if (r.notificationLevel === "mentions_and_direct" && !m.mentioned && !m.direct) return "not-mentioned-or-direct";
  if (s.online && (at === "send" || (!m.mentioned && !m.direct))) return "online";
  if (s.lastReadSeq !== undefined && s.lastReadSeq >= m.seq) return "read";
  return undefined;
}

/** message.sent lists mentioned usernames; matched case-insensitively, with or without the "@". */
export function isMentioned(username: string, mentions: readonly string[]): boolean {
  const name = username.toLowerCase();
  return mentions.some((m) => m.replace(/^@/, "").toLowerCase() === name);
}
