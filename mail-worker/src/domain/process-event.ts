/**
 * Handles one event exactly-once-ish. In one transaction, holding the
 * event's lock: skip it if processed, else send each planned mail not yet
 * in the ledger, recording each as it is accepted, and finally mark the
 * event processed. The transaction commits on every outcome, so a retry
 * resumes where a failure stopped. A crash between a send and its commit
 * sends that mail again on redelivery: delivery is at-least-once, never
 * at-most-once, because nothing is acknowledged before SMTP accepted it.
 */
import type { Logger } from "@parley/shared/logger.js";
import { classifySendError, type MailTransport } from "../mailer.js";
import type { Db, Tx } from "../storage/db.js";
import { isProcessed, lockEvent, markProcessed, markSent, sentRecipients } from "../storage/ledger.js";
import { findRecipients, upsertRecipient } from "../storage/recipients.js";
import { InvalidEvent, type MailContext, type MailEvent, type Outcome, type PlannedMail } from "./mail-event.js";
import { notifiedUserIds, planMessageNotifications } from "./message-notification.js";
import { planOtpMail } from "./otp-mail.js";
import { planWelcomeMail, recipientOf } from "./welcome-mail.js";

export interface ProcessDeps {
  db: Db;
  transport: MailTransport;
  ctx: MailContext;
}

/** Throws only for unexpected failures (e.g. the database is away); the caller retries those. */
export async function processEvent(deps: ProcessDeps, event: MailEvent, log: Logger): Promise<Outcome> {
  try {
    return await deps.db.transaction(async (tx) => {
      await lockEvent(tx, event.id);
      if (await isProcessed(tx, event.id)) return { action: "ack", result: "duplicate", mails: 0 };
      const planned = await plan(tx, event, deps.ctx, log);
      const done = await sentRecipients(tx, event.id);
      const refused: string[] = [];
      let sent = 0;
      for (const { recipientId, mail } of planned) {
        if (done.has(recipientId)) continue;
        try {
          await deps.transport.send(mail);
        } catch (err) {
          if (classifySendError(err) === "transient") {
            log.warn({ err, to: mail.to.address }, "mail not sent; the event will be retried");
            return { action: "retry", reason: `sending to ${mail.to.address} failed: ${message(err)}` };
          }
          // One refused address must not cost the event's other recipients their mail.
          log.error({ err, to: mail.to.address, recipientId }, "mail refused permanently");
          refused.push(`${mail.to.address}: ${message(err)}`);
          continue;
        }
        await markSent(tx, event.id, recipientId);
        sent++;
      }
      if (refused.length > 0) {
        // Not processed: a replay from the dead-letter queue retries only the refused mails.
        return { action: "dead-letter", reason: `refused by the mail server: ${refused.join("; ")}` };
      }
      await markProcessed(tx, event.id, event.routingKey);
      return { action: "ack", result: planned.length === 0 ? "nothing-to-send" : "sent", mails: sent };
    });
  } catch (err) {
    if (err instanceof InvalidEvent) return { action: "dead-letter", reason: `invalid event: ${err.message}` };
    throw err;
  }
}

async function plan(tx: Tx, event: MailEvent, ctx: MailContext, log: Logger): Promise<PlannedMail[]> {
  switch (event.routingKey) {
    case "user.otp.send": {
      const mails = planOtpMail(event.payload, event.occurredAt, new Date(), ctx);
      if (mails.length === 0)
        log.warn({ occurredAt: event.occurredAt }, "OTP expired before it could be mailed; dropped");
      return mails;
    }
    case "user.registered": {
      const recipient = recipientOf(event.payload);
      await upsertRecipient(tx, recipient);
      return [planWelcomeMail(recipient, ctx)];
    }
    case "message.sent": {
      const { valid, invalid } = notifiedUserIds(event.payload);
      if (invalid.length > 0) log.warn({ invalid }, "message.sent lists recipient ids that are not UUIDs; skipped");
      const known = await findRecipients(tx, valid);
      if (known.length < valid.length) {
        const knownIds = new Set(known.map((r) => r.userId));
        // Skipped for now: someone who registered before this projection existed has no known address.
        log.warn({ unknown: valid.filter((id) => !knownIds.has(id)) }, "no email known for some recipients; skipped");
      }
      return planMessageNotifications(event.payload, known, ctx);
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
