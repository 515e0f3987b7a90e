import assert from "node:assert/strict";
import { test } from "node:test";
import { segments } from "./linkify.js";

test("http(s) URLs become links, without the sentence's closing punctuation", () => {
  assert.deepEqual(segments("see https://example.com/a?b=1, and (http://x.test/y)."), [
    { kind: "text", text: "see " },
    { kind: "link", text: "https://example.com/a?b=1", href: "https://example.com/a?b=1" },
    { kind: "text", text: ", and (" },
    { kind: "link", text: "http://x.test/y", href: "http://x.test/y" },
    { kind: "text", text: ")." },
  ]);
});

test("other schemes and markup stay text", () => {
  const text = 'javascript:alert(1) <a href="x">y</a> data:text/html,hi';
  assert.deepEqual(segments(text), [{ kind: "text", text }]);
});

test("mentions follow the server's rule: not inside an email, lower-cased", () => {
  assert.deepEqual(segments("hi @Alice_1 and mail@example.com @ab"), [
    { kind: "text", text: "hi " },
    { kind: "mention", text: "@Alice_1", username: "alice_1" },
    { kind: "text", text: " and mail@example.com @ab" },
  ]);
});
