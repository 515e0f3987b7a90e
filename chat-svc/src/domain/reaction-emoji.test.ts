import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectError } from "@connectrpc/connect";
import { errorReason } from "@parley/shared/errors.js";
import { reactionKey, storedReactionKey } from "./reaction-emoji.js";

test("one emoji of every kind Unicode defines, or a shortcode, is a reaction", () => {
  for (const emoji of [
    "👍", // basic
    "👍🏽", // with a skin tone
    "❤️", // text default, presented as emoji
    "🇫🇷", // flag
    "1️⃣", // keycap
    "👨‍👩‍👧‍👦", // ZWJ sequence
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿", // tag sequence
    "🫩", // Unicode 16
    ":tada:",
    ":+1:",
    ":a-b_c:",
  ]) {
    assert.equal(reactionKey(emoji), emoji, emoji);
  }
});

test("a character shown as text by default is stored with U+FE0F, so both spellings are one reaction", () => {
  assert.equal(reactionKey("❤"), "❤️");
  assert.equal(reactionKey("©"), "©️");
  assert.equal(storedReactionKey("❤"), "❤️");
});

test("anything else is refused: text, markup, controls, several emoji, a stray modifier part", () => {
  for (const emoji of [
    "hello",
    "<script>alert(1)</script>",
    "\u202E",
    "\u200B",
    "👍".repeat(32),
    "👍👎",
    " 👍",
    "👍\u200B",
    "1",
    "#",
    "\uFE0F",
    "🇫",
    "😀\u0301",
    ":Tada:",
    "::",
    `:${"a".repeat(31)}:`,
  ]) {
    let caught: unknown;
    try {
      reactionKey(emoji);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ConnectError, `${JSON.stringify(emoji)} was taken`);
    assert.equal(errorReason(caught), "INVALID_ARGUMENT");
    assert.equal(caught.rawMessage, "emoji: must be one emoji or a :shortcode:");
  }
});

test("a removal may name what would be refused now, as it was stored", () => {
  assert.equal(storedReactionKey("hello"), "hello");
  assert.equal(storedReactionKey(":tada:"), ":tada:");
});
