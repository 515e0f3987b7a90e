import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { PublicProfileSchema } from "@parley/proto/user/v1/user_pb.js";
import { displayName, handleBeside } from "./names.js";

const profile = (displayName: string) => create(PublicProfileSchema, { username: "bob", displayName });

test("a display name is used trimmed; a blank or invisible one falls back to the username", () => {
  assert.equal(displayName(profile(" Bob B. ")), "Bob B.");
  for (const hidden of ["", "   ", "\u200B", "\u3164", "\n"]) assert.equal(displayName(profile(hidden)), "bob");
  assert.equal(displayName(undefined, "carol"), "carol");
});

test("the @username shows beside a display name that differs from it, even one copying another's username", () => {
  assert.equal(handleBeside(displayName(profile("carol")), "bob"), "bob");
  assert.equal(handleBeside(displayName(profile("")), "bob"), undefined);
  assert.equal(handleBeside("Bob", "bob"), "bob");
});
