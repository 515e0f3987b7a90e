/**
 * Splits message text into plain text, safe links and @mentions, for
 * rendering as React text and elements (never as HTML).
 */
import { safeHttpUrl } from "../ui/safe-url.js";

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "link"; text: string; href: string }
  | { kind: "mention"; text: string; username: string };

// The server's mention rule (chat-svc mentions.ts) and http(s) URLs up to whitespace.
const TOKEN = /(https?:\/\/[^\s<>"]+)|(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/g;
// Punctuation that ends a sentence more often than a URL.
const TRAILING = /[.,;:!?)\]}'"]+$/;

export function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const match of text.matchAll(TOKEN)) {
    const start = match.index;
    let token = match[0];
    if (match[1]) {
      const trail = TRAILING.exec(token)?.[0] ?? "";
      token = token.slice(0, token.length - trail.length);
    }
    if (start > at) out.push({ kind: "text", text: text.slice(at, start) });
    if (match[1]) {
      const href = safeHttpUrl(token);
      out.push(href ? { kind: "link", text: token, href } : { kind: "text", text: token });
    } else {
      out.push({ kind: "mention", text: token, username: (match[2] as string).toLowerCase() });
    }
    at = start + token.length;
  }
  if (at < text.length) out.push({ kind: "text", text: text.slice(at) });
  return out;
}
