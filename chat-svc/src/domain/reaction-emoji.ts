/**
 * What a reaction may be: one emoji, or a :shortcode: (its form, 1 to 30 of
 * a-z, 0-9, _, + and - between colons, is declared and checked in
 * chat.proto). Emoji are recognised by emoji-regex, generated from the
 * Unicode Standard's emoji data (emoji-test.txt): RGI emoji and their
 * unqualified forms, each a single grapheme. Text, markup, invisible or
 * direction-changing characters and runs of several emoji are refused.
 */
import emojiRegex from "emoji-regex";
import { invalidField } from "../errors.js";

// The package's pattern finds emoji inside text; anchored, it matches a string that is exactly one.
const source = emojiRegex();
const oneEmoji = new RegExp(`^(?:${source.source})$`, source.flags.replace("g", ""));
const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });
const VARIATION_SELECTOR_16 = "\uFE0F";
/** A character shown as text unless followed by U+FE0F ("❤" rather than "❤️"). */
const textByDefault = /^\P{Emoji_Presentation}$/u;

// The form chat.proto declares for AddReaction.
const SHORTCODE = /^:[a-z0-9_+-]{1,30}:$/;

function isOneEmoji(text: string): boolean {
  if (!oneEmoji.test(text)) return false;
  const segments = graphemes.segment(text)[Symbol.iterator]();
  segments.next();
  return segments.next().done === true;
}

/** An emoji in its emoji presentation: a lone character that defaults to text gets U+FE0F. */
function presented(emoji: string): string {
  return textByDefault.test(emoji) ? emoji + VARIATION_SELECTOR_16 : emoji;
}

/**
 * The reaction as stored: a shortcode as it is, an emoji presented as emoji
 * (so "❤" and "❤️" are one reaction). Anything else is INVALID_ARGUMENT.
 */
export function reactionKey(emoji: string): string {
  if (SHORTCODE.test(emoji)) return emoji;
  if (!isOneEmoji(emoji)) throw invalidField("emoji", "must be one emoji or a :shortcode:");
  return presented(emoji);
}

/**
 * The stored reaction a removal names: read as `reactionKey` reads it,
 * except that what would be refused now (a reaction stored before they were
 * checked) is taken as it is, so that it can still be taken back.
 */
export function storedReactionKey(emoji: string): string {
  return isOneEmoji(emoji) ? presented(emoji) : emoji;
}
