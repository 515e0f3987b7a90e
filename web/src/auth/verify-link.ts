import type { OtpPurpose } from "../session/web-session.js";

/** Where the code is entered, keeping where to go afterwards (a mail link's room). */
export function verifyLink(email: string, purpose: OtpPurpose, search: string): string {
  const params = new URLSearchParams({ email, purpose });
  const next = new URLSearchParams(search).get("next");
  if (next) params.set("next", next);
  return `/verify?${params}`;
}

export function withNext(path: string, search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
}
