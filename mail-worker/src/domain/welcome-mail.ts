import type { UserRegistered } from "@parley/proto/events/v1/events_pb.js";
import type { OutgoingMail } from "../mailer.js";
import type { Recipient } from "../storage/recipients.js";
import { renderWelcomeMail } from "../templates/render.js";
import { type MailContext, requireText, requireUuid } from "./mail-event.js";

/** user.registered names someone who can be mailed from now on. */
export function recipientOf(e: UserRegistered): Recipient {
  return {
    userId: requireUuid(e.userId, "user_id"),
    email: requireText(e.email, "email"),
    username: requireText(e.username, "username"),
  };
}

export function planWelcomeMail(eventId: string, r: Recipient, ctx: MailContext): OutgoingMail {
  const rendered = renderWelcomeMail({ username: r.username, publicUrl: ctx.publicUrl });
  return { id: `event-${eventId}`, to: { name: r.username, address: r.email }, ...rendered };
}
