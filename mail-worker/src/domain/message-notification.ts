/**
 * The notification mail: one per user and room per window, listing the
 * messages the user missed there, with a link to the room and an
 * unsubscribe link.
 */

import type { OutgoingMail } from "../mailer.js";
import type { RecipientPreferences } from "../storage/recipients.js";
import { renderMessageNotification } from "../templates/render.js";
import type { MailContext } from "./mail-event.js";

const EXCERPT_CHARS = 280;
/** A digest lists at most this many messages, then says how many more there are. */
export const LISTED_MESSAGES = 20;

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

export interface DigestItem {
  messageId: string;
  roomName: string;
  senderUsername: string;
  /** Already an excerpt. */
  text: string;
  mentioned: boolean;
  direct: boolean;
}

export function planDigestMail(opts: {
  digestId: string;
  recipient: RecipientPreferences;
  roomId: string;
  /** In room order; at least one. */
  items: readonly DigestItem[];
  ctx: MailContext;
  unsubscribeUrl: string;
}): OutgoingMail {
  const { recipient: r, items } = opts;
  const first = items[0];
  const last = items.at(-1);
  if (!first || !last) throw new Error("a digest needs at least one message");
  const room = last.roomName || "a Parley room";
  const sender = first.senderUsername || "Someone";
  const n = items.length;
  let subject: string;
  let intro: string;
  if (n === 1 && first.mentioned) {
    subject = `${sender} mentioned you in ${room}`;
    intro = `${sender} mentioned you in ${room}:`;
  } else if (n === 1 && first.direct) {
    subject = `New direct message from ${sender}`;
    intro = `${sender} sent you a direct message:`;
  } else if (n === 1) {
    subject = `New message from ${sender} in ${room}`;
    intro = `${sender} wrote in ${room}:`;
  } else {
    subject = `${n} new messages in ${room}`;
    intro = `You have ${n} unread messages in ${room}:`;
  }
  const listed = items.slice(0, LISTED_MESSAGES).map((i) => ({
    sender: i.senderUsername || "Someone",
    excerpt: i.text,
    mentioned: i.mentioned,
  }));
  const rendered = renderMessageNotification({
    subject,
    username: r.username,
    intro,
    room,
    messages: listed,
    more: n - listed.length,
    roomUrl: `${opts.ctx.publicUrl}/rooms/${encodeURIComponent(opts.roomId)}`,
    publicUrl: opts.ctx.publicUrl,
    unsubscribeUrl: opts.unsubscribeUrl,
  });
  return {
    id: `digest-${opts.digestId}`,
    to: { name: r.username, address: r.email },
    headers: {
      // RFC 2369 and RFC 8058: mail clients offer their own one-click unsubscribe button.
      "List-Unsubscribe": `<${opts.unsubscribeUrl}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
    ...rendered,
  };
}
