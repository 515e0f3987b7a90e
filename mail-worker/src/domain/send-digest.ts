/**
 * Mails one due digest, all in one transaction that holds the digest's row
 * lock from the claim to the commit: the messages still unread, not deleted,
 * and wanted under the recipient's current choices, as one mail. The digest
 * row is the ledger: it is marked sent in the transaction that follows the
 * SMTP server's acceptance, so a crash before that point leaves it open for
 * the next claim, and nothing is lost or mailed twice (except a crash in the
 * instant between acceptance and commit, and that copy keeps its Message-ID).
 */
import type { Logger } from "@parley/shared/logger.js";
import { classifySendError } from "../mailer.js";
import {
  claimDueDigest,
  finishDigest,
  pendingNotifications,
  postponeDigest,
  settleNotifications,
} from "../storage/digests.js";
import { findRecipients } from "../storage/recipients.js";
import { deletedAmong, onlineUsers, readMarkers } from "../storage/state.js";
import type { DomainDeps } from "./deps.js";
import { planDigestMail } from "./message-notification.js";
import { skipReason } from "./notify-policy.js";
import { errorMessage } from "./send-event-mail.js";

/** What became of the digest claimed, or "idle" when none was due. */
export type DigestResult = "idle" | "sent" | "cancelled" | "postponed" | "failed";

export async function sendDueDigest(
  deps: Pick<DomainDeps, "db" | "transport" | "ctx" | "retryDelaysMs" | "unsubscribeUrl">,
  logger: Logger,
): Promise<DigestResult> {
  return deps.db.transaction(async (tx) => {
    const digest = await claimDueDigest(tx);
    if (!digest) return "idle";
    const log = logger.child({ digestId: digest.id, userId: digest.userId, roomId: digest.roomId });
    const items = await pendingNotifications(tx, digest.id);
    const [recipient] = await findRecipients(tx, [digest.userId]);
    const ids = items.map((i) => i.messageId);
    const deleted = await deletedAmong(tx, ids);
    const state = {
      online: (await onlineUsers(tx, [digest.userId])).has(digest.userId),
      lastReadSeq: (await readMarkers(tx, digest.roomId, [digest.userId])).get(digest.userId),
    };
    const keep: typeof items = [];
    const dropped: string[] = [];
    for (const i of items) {
      const kept =
        recipient !== undefined && !deleted.has(i.messageId) && skipReason(recipient, i, state) === undefined;
      if (kept) keep.push(i);
      else dropped.push(i.messageId);
    }
    await settleNotifications(tx, digest.userId, dropped, "cancelled");
    if (!recipient || keep.length === 0) {
      await finishDigest(tx, digest.id, "cancelled");
      log.debug({ dropped: dropped.length }, "nothing left to mail; digest cancelled");
      return "cancelled";
    }

    const mail = planDigestMail({
      digestId: digest.id,
      recipient,
      roomId: digest.roomId,
      items: keep,
      ctx: deps.ctx,
      unsubscribeUrl: deps.unsubscribeUrl(recipient.userId),
    });
    const kept = keep.map((i) => i.messageId);
    try {
      await deps.transport.send(mail);
    } catch (err) {
      const why = `sending to ${mail.to.address} failed: ${errorMessage(err)}`;
      const delay = deps.retryDelaysMs[digest.attempts];
      if (classifySendError(err) === "transient" && delay !== undefined) {
        await postponeDigest(tx, digest.id, delay, why);
        log.warn({ err, attempt: digest.attempts + 1, delayMs: delay }, "digest not sent; will retry");
        return "postponed";
      }
      await finishDigest(tx, digest.id, "failed", why);
      await settleNotifications(tx, digest.userId, kept, "failed");
      log.error({ err, attempts: digest.attempts + 1 }, "digest not sent; giving up");
      return "failed";
    }
    await settleNotifications(tx, digest.userId, kept, "sent");
    await finishDigest(tx, digest.id, "sent");
    log.info({ messages: kept.length }, "digest mailed");
    return "sent";
  });
}
