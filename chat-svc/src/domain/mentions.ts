/** `@username` mentions, parsed from a message's text when it is written. */

export const MAX_MENTIONS = 50;

// A username as user-svc allows it, preceded by neither a word character nor
// another "@" (so "mail@example" is no mention) and not running on past 32
// characters.
const MENTION = /(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/g;

/** Mentioned usernames, lower-cased, each once, in order of first mention, at most MAX_MENTIONS. */
export function parseMentions(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    found.add((match[1] as string).toLowerCase());
    if (found.size === MAX_MENTIONS) break;
  }
  return [...found];
}
