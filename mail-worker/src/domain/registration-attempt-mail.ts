import type { UserRegistrationAttempted } from "@parley/proto/events/v1/events_pb.js";
import type { OutgoingMail } from "../mailer.js";
import { renderRegistrationAttemptMail } from "../templates/render.js";
import { type MailContext, requireText, requireUuid } from "./mail-event.js";

/**
 * user.registration.attempted: someone registered with the address of an
 * existing account and was answered as if it were new (user-svc's
 * register-existing.ts), so the holder is the one told. user-svc sends at most
 * one such event per account and REGISTER_NOTICE_INTERVAL.
 */
export function planRegistrationAttemptMail(
  eventId: string,
  e: UserRegistrationAttempted,
  ctx: MailContext,
): OutgoingMail {
  requireUuid(e.userId, "user_id");
  const address = requireText(e.email, "email");
  const username = requireText(e.username, "username");
  const rendered = renderRegistrationAttemptMail({ username, publicUrl: ctx.publicUrl });
  return { id: `event-${eventId}`, to: { name: username, address }, ...rendered };
}
