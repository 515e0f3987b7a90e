/**
 * What a display name may be, checked again after trimming: proto refuses the
 * same characters in the request as sent, but only the trimmed name is stored,
 * and a name must never hide (invisible or blank) or pass for a username
 * (a leading @), since the web app shows it beside the @username.
 */
import { invalidDisplayName } from "../errors.js";

// Line breaks, controls and format characters (zero-width space, direction
// overrides, soft hyphen, tags), except a zero-width joiner inside an emoji
// sequence, where it is visible: the same set as proto's display_name.printable.
const HIDDEN = /[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200D)\p{Cf}|(?<!\p{So}|\uFE0F|[\u{1F3FB}-\u{1F3FF}])\u200D|\u200D(?!\p{So})/u;
// Something that is not space, a combining mark or one of the fillers that
// render as nothing (Hangul fillers, the blank Braille pattern).
const VISIBLE = /[^\s\p{Z}\p{M}\p{Cc}\p{Cf}\u115F\u1160\u3164\uFFA0\u2800]/u;

/** The display name to store for `raw`: trimmed, "" for none; throws INVALID_ARGUMENT naming display_name. */
export function displayNameToStore(raw: string): string {
  const name = raw.trim();
  if (name === "") return "";
  if (HIDDEN.test(name)) {
    throw invalidDisplayName("must not contain line breaks, control characters or invisible formatting characters");
  }
  if (!VISIBLE.test(name))
    throw invalidDisplayName("must contain a visible character, or be empty for no display name");
  if (name.startsWith("@")) throw invalidDisplayName("must not start with @, which marks a username");
  return name;
}
