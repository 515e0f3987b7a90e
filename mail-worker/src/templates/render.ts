/**
 * Every mail's text and HTML parts, rendered from the Handlebars templates
 * beside this file. HTML templates escape every value ({{x}}); text
 * templates and subjects are plain text, so they are compiled without
 * escaping. Templates are compiled once, at import.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const hbs = Handlebars.create();

function load(name: string): string {
  return readFileSync(new URL(`./${name}`, import.meta.url), "utf8");
}

hbs.registerPartial("layout", load("layout.html.hbs"));
hbs.registerPartial("button", load("button.html.hbs"));

// strict: a value missing from the data is a bug, not an empty string in a sent mail.
function template<T>(name: string, subject: string): (data: T) => RenderedMail {
  const subjectOf = hbs.compile<T>(subject, { noEscape: true, strict: true });
  const text = hbs.compile<T>(load(`${name}.text.hbs`), { noEscape: true, strict: true });
  const html = hbs.compile<T & { subject: string }>(load(`${name}.html.hbs`), { strict: true });
  return (data) => {
    const s = subjectOf(data);
    return { subject: s, text: text(data), html: html({ ...data, subject: s }) };
  };
}

export type OtpPurpose = "verify-email" | "login" | "other";

const otpIntro: Record<OtpPurpose, string> = {
  "verify-email": "Welcome to Parley! Enter this code to verify your email address and finish creating your account:",
  login: "Enter this code to sign in to Parley:",
  other: "Enter this code in Parley to continue:",
};

const otp = template<{ username: string; intro: string; code: string; expiresIn: string; publicUrl: string }>(
  "otp",
  "Your Parley code: {{code}}",
);

/** In whole minutes, rounded down (so 119 s is "1 minute"): a code must not die before the time stated. */
export function describeTimeLeft(seconds: number): string {
  if (seconds < 60) return `${seconds} ${seconds === 1 ? "second" : "seconds"}`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
}

export function renderOtpMail(data: {
  username: string;
  purpose: OtpPurpose;
  code: string;
  /** Whole seconds the code has left, at least 1. */
  secondsLeft: number;
  publicUrl: string;
}): RenderedMail {
  return otp({
    username: data.username,
    intro: otpIntro[data.purpose],
    code: data.code,
    expiresIn: describeTimeLeft(data.secondsLeft),
    publicUrl: data.publicUrl,
  });
}

export const renderWelcomeMail = template<{ username: string; publicUrl: string }>(
  "welcome",
  "Welcome to Parley, {{username}}!",
);

export const renderRegistrationAttemptMail = template<{ username: string; publicUrl: string }>(
  "registration-attempt",
  "Someone tried to register with your email address",
);

export const renderMessageNotification = template<{
  subject: string;
  username: string;
  intro: string;
  room: string;
  messages: { sender: string; excerpt: string; mentioned: boolean }[];
  /** Unread messages beyond those listed. */
  more: number;
  roomUrl: string;
  publicUrl: string;
  unsubscribeUrl: string;
}>("message-notification", "{{subject}}");

const unsubscribePage = hbs.compile<{
  title: string;
  message: string;
  publicUrl: string;
  preheader: string;
  action: string;
}>(load("unsubscribe-page.html.hbs"), { strict: true });

/**
 * The pages of the unsubscribe link (not mails, but the same look): the
 * question a followed link asks (`confirm`, whose form posts to `action`),
 * the answer once unsubscribed (`done`), or a broken link (`invalid`).
 */
export type UnsubscribePage = { state: "confirm"; action: string } | { state: "done" } | { state: "invalid" };

export function renderUnsubscribePage(page: UnsubscribePage, publicUrl: string): string {
  const text = {
    confirm: [
      "Stop emails about new messages?",
      "Parley will no longer email you about new messages. Sign-in codes still arrive by email.",
    ],
    done: [
      "You are unsubscribed",
      "Parley will no longer email you about new messages. Sign-in codes still arrive by email. To get notification emails again, choose a notification level in your Parley settings.",
    ],
    invalid: [
      "This unsubscribe link is not valid",
      "The link may have been cut off by your mail program. Copy the whole link from the email into your browser, or change your notification level in your Parley settings.",
    ],
  } as const;
  const [title, message] = text[page.state];
  return unsubscribePage({
    title,
    message,
    publicUrl,
    preheader: title,
    action: page.state === "confirm" ? page.action : "",
  });
}
