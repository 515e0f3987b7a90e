/**
 * Sends rendered mails: through a pooled SMTP connection when SMTP_HOST is
 * set, otherwise into the development mailbox. Callers learn from
 * classifySendError whether a failure is worth retrying.
 */
import { resolve } from "node:path";
import type { Logger } from "@parley/shared/logger.js";
import { counter, DURATION_BUCKETS, histogram, secondsSince } from "@parley/shared/metrics.js";
import { inSpan, SpanKind, tracingEnabled } from "@parley/shared/trace-context.js";
import nodemailer from "nodemailer";
import type { Config } from "./config.js";
import { type Mailbox, openMailbox } from "./mailbox.js";

export interface OutgoingMail {
  /**
   * Stable per mail (the event or digest it is for): the Message-ID is built
   * from it, so a mail sent again after a crash carries the same Message-ID,
   * which lets mail stores recognise the duplicate.
   */
  id: string;
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** Extra headers, e.g. List-Unsubscribe. */
  headers?: Record<string, string>;
}

export interface MailTransport {
  /** Where mail goes, for the start-up log: "SMTP host:port" or "dev mailbox <dir>". */
  readonly description: string;
  /** Set in dev mailbox mode only. */
  readonly mailbox: Mailbox | undefined;
  /** Resolves once the mail was accepted (by the SMTP server, or written to the mailbox). */
  send(mail: OutgoingMail): Promise<void>;
  close(): Promise<void>;
}

export type SmtpSettings = Pick<
  Config,
  | "SMTP_HOST"
  | "SMTP_PORT"
  | "SMTP_SECURE"
  | "SMTP_USER"
  | "SMTP_PASSWORD"
  | "SMTP_MAX_CONNECTIONS"
  | "FROM_EMAIL"
  | "MAILBOX_DIR"
>;

// Every mail is machine-generated; RFC 3834 asks auto-responders not to answer it.
const headers = { "Auto-Submitted": "auto-generated" };

/** The domain of FROM_EMAIL ("Parley <noreply@parley.local>" → "parley.local"), for Message-IDs. */
export function senderDomain(from: string): string {
  const match = /@([^\s>]+)>?\s*$/.exec(from);
  return match?.[1] ?? "parley.local";
}

function message(mail: OutgoingMail, domain: string) {
  const { id, headers: extra, ...rest } = mail;
  return { ...rest, messageId: `<${id}@${domain}>`, headers: { ...headers, ...extra } };
}

/** With tracing on, each send is a span (nodemailer has no instrumentation), a child of the event's. */
function traceSends(
  transport: MailTransport,
  name: string,
  attributes: Record<string, string | number>,
): MailTransport {
  if (!tracingEnabled()) return transport;
  return {
    ...transport,
    send: (mail) =>
      inSpan(name, { kind: SpanKind.CLIENT, attributes: { ...attributes, "parley.mail.id": mail.id } }, () =>
        transport.send(mail),
      ),
  };
}

const mailsSent = counter({
  name: "parley_mail_sent_total",
  help: "Mails accepted by the SMTP server (or written to the dev mailbox)",
});
const mailFailures = counter<"failure">({
  name: "parley_mail_send_failures_total",
  help: "Mails the SMTP server did not accept, by classifySendError: transient (retried) or permanent",
  labelNames: ["failure"],
});
const sendSeconds = histogram({
  name: "parley_mail_send_seconds",
  help: "How long handing one mail to the SMTP server (or the dev mailbox) took, failures included",
  buckets: DURATION_BUCKETS,
});

/** The transport's send, counted: every mail of the worker goes through it. */
function measured(send: MailTransport["send"]): MailTransport["send"] {
  return async (mail) => {
    const start = performance.now();
    try {
      await send(mail);
      mailsSent.inc();
    } catch (err) {
      mailFailures.labels(classifySendError(err)).inc();
      throw err;
    } finally {
      sendSeconds.observe(secondsSince(start));
    }
  };
}

export async function createMailTransport(settings: SmtpSettings, logger: Logger): Promise<MailTransport> {
  const from = settings.FROM_EMAIL;
  const domain = senderDomain(from);
  if (!settings.SMTP_HOST) {
    const mailbox = await openMailbox(resolve(settings.MAILBOX_DIR));
    const writer = nodemailer.createTransport({ streamTransport: true, buffer: true }, { from, headers });
    return traceSends(
      {
        description: `dev mailbox ${mailbox.dir}`,
        mailbox,
        send: measured(async (mail) => {
          const info = await writer.sendMail(message(mail, domain));
          const entry = await mailbox.save(info.message as Buffer, { to: mail.to.address, subject: mail.subject });
          logger.info({ to: mail.to.address, subject: mail.subject, id: entry.id }, "mail written to the dev mailbox");
        }),
        async close() {
          writer.close();
        },
      },
      "mailbox write",
      {},
    );
  }

  const secure = settings.SMTP_SECURE === "auto" ? settings.SMTP_PORT === 465 : settings.SMTP_SECURE === "true";
  const smtp = nodemailer.createTransport(
    {
      pool: true,
      maxConnections: settings.SMTP_MAX_CONNECTIONS,
      host: settings.SMTP_HOST,
      port: settings.SMTP_PORT,
      secure,
      auth: settings.SMTP_USER ? { user: settings.SMTP_USER, pass: settings.SMTP_PASSWORD ?? "" } : undefined,
      // nodemailer's defaults (2 min to connect, 10 min of socket silence) would hold a
      // delivery, and shutdown, far longer than a retry costs.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    },
    { from, headers },
  );
  return traceSends(
    {
      description: `SMTP ${settings.SMTP_HOST}:${settings.SMTP_PORT}${secure ? " (TLS)" : ""}`,
      mailbox: undefined,
      send: measured(async (mail) => {
        await smtp.sendMail(message(mail, domain));
      }),
      async close() {
        smtp.close();
      },
    },
    "smtp send",
    { "server.address": settings.SMTP_HOST, "server.port": settings.SMTP_PORT },
  );
}

export type SendFailure = "transient" | "permanent";

interface SmtpError {
  code?: string;
  responseCode?: number;
  permanent?: boolean;
}

/**
 * A 5xx reply means the server will refuse this mail again; everything else
 * (4xx, connection, timeout, TLS, authentication) is about the server or the
 * worker's settings, not the mail, and may succeed later.
 */
export function classifySendError(err: unknown): SendFailure {
  const e = (typeof err === "object" && err !== null ? err : {}) as SmtpError;
  // Credentials are the worker's problem: dead-lettering every mail would lose them all.
  if (e.code === "EAUTH" || e.code === "ENOAUTH") return "transient";
  if (typeof e.responseCode === "number") {
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return permanent ? "permanent" : "transient";
  }
  // Refused before any server was asked, e.g. an address nodemailer cannot parse.
  if (e.code === "EENVELOPE") return "permanent";
  return "transient";
}
