import assert from "node:assert/strict";
import { test } from "node:test";
import { inAbout, rateLimited } from "./errors.js";

test("a rate limit says when to try again, rounded up", () => {
  assert.equal(rateLimited(45).rawMessage, "too many requests; try again in 45 seconds");
  assert.equal(inAbout(0.2), "in 1 second");
  assert.equal(inAbout(89), "in 89 seconds");
  assert.equal(inAbout(90), "in 2 minutes");
  assert.equal(inAbout(3600), "in 60 minutes");
  assert.equal(inAbout(5400), "in about 2 hours");
  assert.equal(inAbout(5401), "in about 2 hours");
});
