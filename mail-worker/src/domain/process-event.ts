/**
 * Routes a decoded event to what it means for the worker: a mail now (OTP,
 * welcome, a registration attempt on an existing account), notifications for later (message.sent), or state that decides
 * later mail (presence, reads, deletions, profiles, deactivations, room members).
 */
import type { Logger } from "@parley/shared/logger.js";
import { upsertRecipient } from "../storage/recipients.js";
import type { DomainDeps } from "./deps.js";
import { InvalidEvent, type MailEvent, type Outcome } from "./mail-event.js";
import { planOtpMail } from "./otp-mail.js";
import { queueNotifications } from "./queue-notifications.js";
import { planRegistrationAttemptMail } from "./registration-attempt-mail.js";
import { sendEventMail } from "./send-event-mail.js";
import { trackMembership } from "./track-membership.js";
import { trackAccountStatus, trackDeletion, trackPresence, trackProfile, trackRead } from "./track-state.js";
import { planWelcomeMail, recipientOf } from "./welcome-mail.js";

/** Throws only for unexpected failures (e.g. the database is away); the caller retries those. */
export async function processEvent(
  deps: Pick<DomainDeps, "db" | "transport" | "ctx" | "windowSeconds">,
  event: MailEvent,
  log: Logger,
): Promise<Outcome> {
  try {
    switch (event.routingKey) {
      case "user.otp.send":
        return await sendEventMail(deps, event, log, async () => {
          const mails = planOtpMail(event.id, event.payload, event.occurredAt, new Date(), deps.ctx);
          if (mails.length === 0) {
            log.warn({ occurredAt: event.occurredAt }, "OTP expired before it could be mailed; dropped");
          }
          return mails;
        });
      case "user.registered":
        return await sendEventMail(deps, event, log, async (tx) => {
          const recipient = recipientOf(event.payload);
          await upsertRecipient(tx, recipient, event.occurredAt ?? new Date());
          return [planWelcomeMail(event.id, recipient, deps.ctx)];
        });
      case "user.registration.attempted":
        return await sendEventMail(deps, event, log, async () => [
          planRegistrationAttemptMail(event.id, event.payload, deps.ctx),
        ]);
      case "message.sent":
        return await queueNotifications(deps, event, log);
      case "message.deleted":
        return await trackDeletion(deps.db, event);
      case "room.read":
        return await trackRead(deps.db, event);
      case "room.members":
        return await trackMembership(deps.db, event);
      case "user.online":
        return await trackPresence(deps.db, event);
      case "user.updated":
        return await trackProfile(deps.db, event);
      case "user.deactivated":
      case "user.reactivated":
        return await trackAccountStatus(deps.db, event);
    }
  } catch (err) {
    if (err instanceof InvalidEvent) return { action: "dead-letter", reason: `invalid event: ${err.message}` };
    throw err;
  }
}
