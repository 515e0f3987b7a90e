/** The canonical forms behind case-insensitive uniqueness. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeEmail, usernameKey } from "../src/domain/identity.js";

test("emails fold case, width and surrounding space", () => {
  assert.equal(normalizeEmail("  Alice@Example.COM "), "alice@example.com");
  assert.equal(normalizeEmail("ａｌｉｃｅ@example.com"), "alice@example.com");
});

test("username keys fold case and width and drop invisible characters", () => {
  for (const variant of ["Alice", "ALICE", " alice ", "ａｌｉｃｅ", "al\u200bice", "al\u00adice", "\ufeffalice"]) {
    assert.equal(usernameKey(variant), "alice", JSON.stringify(variant));
  }
  // Locale-independent: "I" is "i" everywhere, never a dotless ı.
  assert.equal(usernameKey("ISTANBUL"), "istanbul");
  // Lookalikes from other scripts stay distinct (proto refuses them anyway).
  assert.notEqual(usernameKey("аlice"), "alice");
});
