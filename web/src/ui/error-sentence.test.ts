import assert from "node:assert/strict";
import { test } from "node:test";
import { problemsOf, sentenceOf } from "./error-sentence.js";

test("a field's own clause drops the field name and reads as a sentence", () => {
  assert.equal(sentenceOf("otp: the code is incorrect"), "The code is incorrect.");
  assert.equal(sentenceOf("username: this username is taken"), "This username is taken.");
  assert.equal(sentenceOf("password: the password is too easy to guess"), "The password is too easy to guess.");
});

test("a validation predicate is said of the field, by its label", () => {
  assert.equal(
    sentenceOf("display_name: must contain a visible character, or be empty for no display name"),
    "Display name must contain a visible character, or be empty for no display name.",
  );
  assert.equal(
    sentenceOf("avatar_url: must be an https URL, or empty for no avatar"),
    "Avatar URL must be an https URL, or empty for no avatar.",
  );
  assert.equal(
    sentenceOf(
      "bio: value length must be at most 500 characters; status_text: value length must be at most 140 characters",
    ),
    "Bio length must be at most 500 characters. Status length must be at most 140 characters.",
  );
  assert.equal(sentenceOf("member_ids[0]: value must be a valid UUID"), "People must be a valid UUID.");
});

test("a message without a field, even with clauses of its own, is one sentence", () => {
  assert.equal(sentenceOf("too many requests; try again in 5 minutes"), "Too many requests; try again in 5 minutes.");
  assert.equal(sentenceOf("the account or password is incorrect"), "The account or password is incorrect.");
  assert.equal(sentenceOf("Already a sentence."), "Already a sentence.");
});

test("each problem keeps the field it is about, for forms that show it beside its input", () => {
  assert.deepEqual(problemsOf("username: this username is taken"), [
    { field: "username", sentence: "This username is taken." },
  ]);
  assert.deepEqual(problemsOf("bio: must be short; member_ids[2]: value must be a valid UUID"), [
    { field: "bio", sentence: "Bio must be short." },
    { field: "member_ids", sentence: "People must be a valid UUID." },
  ]);
  assert.deepEqual(problemsOf("too many requests; try again in 5 minutes"), [
    { field: undefined, sentence: "Too many requests; try again in 5 minutes." },
  ]);
});
