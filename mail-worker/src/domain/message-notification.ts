import type { MessageSent } from "@parley/proto/events/v1/events_pb.js";
import type { Recipient } from "../storage/recipients.js";
import { renderMessageNotification } from "../templates/render.js";
import { isUuid, type MailContext, type PlannedMail, requireText } from "./mail-event.js";

const EXCERPT_CHARS = 280;

/** Who should hear of the message: the listed members, never the sender, each once. */
export function notifiedUserIds(e: MessageSent): { valid: string[]; invalid: string[] } {
  requireText(e.roomId, "room_id");
  const ids = [...new Set(e.recipientIds)].filter((id) => id !== e.senderId);
  return { valid: ids.filter(isUuid), invalid: ids.filter((id) => !isUuid(id)) };
}

export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const chars = [...flat]; // by code point, so an emoji is never cut in half
  return chars.length <= EXCERPT_CHARS
    ? flat
    : `${chars
        .slice(0, EXCERPT_CHARS - 1)
        .join("")
        .trimEnd()}…`;
}

export function planMessageNotifications(e: MessageSent, to: readonly Recipient[], ctx: MailContext): PlannedMail[] {
  const sender = e.senderUsername || "Someone";
  const room = e.roomName || "a Parley room";
  const roomUrl = `${ctx.publicUrl}/rooms/${encodeURIComponent(e.roomId)}`;
  const text = excerpt(e.text);
  return to.map((r) => ({
    recipientId: r.userId,
    mail: {
      to: { name: r.username, address: r.email },
      ...renderMessageNotification({
        username: r.username,
        sender,
        room,
        excerpt: text,
        roomUrl,
        publicUrl: ctx.publicUrl,
      }),
    },
  }));
}
