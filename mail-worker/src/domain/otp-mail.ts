import type { UserOtpSend } from "@parley/proto/events/v1/events_pb.js";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import type { OutgoingMail } from "../mailer.js";
import { renderOtpMail, type OtpPurpose as TemplatePurpose } from "../templates/render.js";
import { type MailContext, requireText, requireUuid } from "./mail-event.js";

const purposes: Record<OtpPurpose, TemplatePurpose> = {
  [OtpPurpose.VERIFY_EMAIL]: "verify-email",
  [OtpPurpose.LOGIN]: "login",
  [OtpPurpose.UNSPECIFIED]: "other",
};

/**
 * user.otp.send: the code, to the address it was asked for; nothing once the
 * code has expired (after retries, or replayed from the dead-letter queue):
 * it could only confuse.
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
  if (occurredAt && e.expiresIn > 0 && now.getTime() >= occurredAt.getTime() + e.expiresIn * 1000) return [];
  const rendered = renderOtpMail({
    username: e.username || address,
    purpose: purposes[e.purpose] ?? "other",
    code,
    // Rounded down: the code never dies before the time the mail states.
    expiresInMinutes: Math.max(1, Math.floor(e.expiresIn / 60)),
    publicUrl: ctx.publicUrl,
  });
  return [{ id: `event-${eventId}`, to: { name: e.username, address }, ...rendered }];
}
