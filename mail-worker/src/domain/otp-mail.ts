import type { UserOtpSend } from "@parley/proto/events/v1/events_pb.js";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import type { OutgoingMail } from "../mailer.js";
import { renderOtpMail, type OtpPurpose as TemplatePurpose } from "../templates/render.js";
import { InvalidEvent, type MailContext, requireText, requireUuid } from "./mail-event.js";

const purposes: Record<OtpPurpose, TemplatePurpose> = {
  [OtpPurpose.VERIFY_EMAIL]: "verify-email",
  [OtpPurpose.LOGIN]: "login",
  [OtpPurpose.UNSPECIFIED]: "other",
};

/**
 * Whole seconds the code has left at `now`, rounded down so that the mail
 * never promises more than the code has: it is rendered after queueing, and
 * on a retry 10 s, 1 min or 10 min later. Never more than its lifetime, should
 * the publisher's clock run ahead of ours; the full lifetime when the
 * publisher did not say when the code was made.
 */
function secondsLeft(expiresIn: number, occurredAt: Date | undefined, now: Date): number {
  if (!occurredAt) return expiresIn;
  return Math.min(expiresIn, Math.floor((occurredAt.getTime() + expiresIn * 1000 - now.getTime()) / 1000));
}

/**
 * user.otp.send: the code, to the address it was asked for, saying how long
 * it has left. Nothing once the code has expired (after retries, or replayed
 * from the dead-letter queue): a dead code could only confuse, and the user
 * can ask for a new one. A code with seconds left is still mailed, saying so,
 * as the user may yet make it in time.
 */
export function planOtpMail(
  eventId: string,
  e: UserOtpSend,
  occurredAt: Date | undefined,
  now: Date,
  ctx: MailContext,
): OutgoingMail[] {
  requireUuid(e.userId, "user_id");
  const address = requireText(e.email, "email");
  const code = requireText(e.otp, "otp");
  // 0 is protobuf's "unset": a publisher bug, and no honest expiry could be stated.
  if (e.expiresIn <= 0) throw new InvalidEvent(`expires_in must be positive (got ${e.expiresIn})`);
  const left = secondsLeft(e.expiresIn, occurredAt, now);
  if (left < 1) return [];
  const rendered = renderOtpMail({
    username: e.username || address,
    purpose: purposes[e.purpose] ?? "other",
    code,
    secondsLeft: left,
    publicUrl: ctx.publicUrl,
  });
  return [{ id: `event-${eventId}`, to: { name: e.username, address }, ...rendered }];
}
