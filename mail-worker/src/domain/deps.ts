import type { MailTransport } from "../mailer.js";
import type { Db } from "../storage/db.js";
import type { MailContext } from "./mail-event.js";

/** What the domain actions need; built once by app.ts. */
export interface DomainDeps {
  db: Db;
  transport: MailTransport;
  ctx: MailContext;
  /** NOTIFY_DIGEST_WINDOW. */
  windowSeconds: number;
  /** MAIL_RETRY_DELAYS: the waits before each new attempt at a digest after a transient failure; then it fails. */
  retryDelaysMs: readonly number[];
  unsubscribeUrl: (userId: string) => string;
}
