/**
 * Mails an event calls for directly (OTP codes, welcomes), each exactly one
 * mail, exactly once as far as the worker can make it. In one transaction,
 * holding the event's lock: skip it if processed, else plan, send, and mark
 * it processed; the commit follows the SMTP server's acceptance within
 * milliseconds, and the delivery is acknowledged only after the commit. So a
 * redelivery never mails again, and a crash loses nothing; only a crash in
 * the instant between acceptance and commit can send a second copy, which
 * carries the same Message-ID.
 */

import type { Logger } from "@parley/shared/logger.js";
import type { OutgoingMail } from "../mailer.js";
import { classifySendError, type MailTransport } from "../mailer.js";
import type { Db, Tx } from "../storage/db.js";
import { isProcessed, lockEvent, markProcessed } from "../storage/ledger.js";
import type { MailEvent, Outcome } from "./mail-event.js";

export async function sendEventMail(
  deps: { db: Db; transport: MailTransport },
  event: MailEvent,
  log: Logger,
  plan: (tx: Tx) => Promise<OutgoingMail[]>,
): Promise<Outcome> {
  return deps.db.transaction(async (tx) => {
    await lockEvent(tx, event.id);
    if (await isProcessed(tx, event.id)) return { action: "ack", result: "duplicate", mails: 0 };
    const planned = await plan(tx);
    for (const mail of planned) {
      try {
        await deps.transport.send(mail);
      } catch (err) {
        const why = `sending to ${mail.to.address} failed: ${errorMessage(err)}`;
        if (classifySendError(err) === "transient") {
          log.warn({ err, to: mail.to.address }, "mail not sent; the event will be retried");
          return { action: "retry", reason: why };
        }
        log.error({ err, to: mail.to.address }, "mail refused permanently");
        // Not marked processed: replayed from the dead-letter queue, it is tried again.
        return { action: "dead-letter", reason: `refused by the mail server: ${why}` };
      }
    }
    await markProcessed(tx, event.id, event.routingKey);
    return { action: "ack", result: planned.length === 0 ? "nothing-to-send" : "sent", mails: planned.length };
  });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
