import assert from "node:assert/strict";
import { test } from "node:test";
import { oneLine } from "./one-line.js";

test("line breaks, tabs and runs of spaces become single spaces; the ends are trimmed", () => {
  assert.equal(oneLine("multi\nline\r\n\tname "), "multi line name");
  assert.equal(oneLine("  Project   Apollo"), "Project Apollo");
  assert.equal(oneLine("plain"), "plain");
});
