/**
 * The domain's own display-name check, which holds for callers that skip proto
 * validation and judges the trimmed name that is stored.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { displayNameToStore } from "../src/domain/display-name.js";

test("a display name is trimmed, and blank means none", () => {
  assert.equal(displayNameToStore("  Ada Lovelace\u3000"), "Ada Lovelace");
  assert.equal(displayNameToStore(""), "");
  assert.equal(displayNameToStore("🏳️\u200D🌈"), "🏳️\u200D🌈");
  assert.equal(displayNameToStore(" \t "), "");
  assert.equal(
    displayNameToStore("Zoë 日本 👨\u200D👩\u200D👧 🧑🏽\u200D💻"),
    "Zoë 日本 👨\u200D👩\u200D👧 🧑🏽\u200D💻",
  );
});

test("hidden characters, invisible names and a leading @ are refused naming display_name", () => {
  for (const name of [
    "a\nb",
    "a\u0000b",
    "ad\u200Ba",
    "a\u200Dda",
    "\u202Eada",
    "ada\u2066",
    "a\u00ADda",
    "\u3164",
    "\u2800\u2800",
    "\u0308",
    "@carol",
    " @carol",
  ]) {
    assert.throws(
      () => displayNameToStore(name),
      (err: unknown) =>
        err instanceof ConnectError &&
        err.rawMessage.startsWith("display_name: ") &&
        "display_name" in (err.findDetails(ErrorInfoSchema)[0]?.metadata ?? {}),
      JSON.stringify(name),
    );
  }
});
