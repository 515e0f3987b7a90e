/**
 * .env.example names every variable the components' config modules read, and
 * nothing they do not, so it stays the complete list operators are promised.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { configSpec as chatSpec } from "../chat-svc/src/config.js";
import { configSpec as edgeSpec } from "../edge/src/config.js";
import { configSpec as mailSpec } from "../mail-worker/src/config.js";
import { configSpec as userSpec } from "../user-svc/src/config.js";

const root = new URL("..", import.meta.url).pathname;

test(".env.example lists exactly the variables the config modules read", () => {
  const read = new Set([edgeSpec, userSpec, chatSpec, mailSpec].flatMap((spec) => Object.keys(spec)));
  const listed = new Set(
    readFileSync(`${root}.env.example`, "utf8")
      .split("\n")
      .map((line) => /^(?:# )?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined),
  );
  assert.deepEqual(
    [...read].filter((name) => !listed.has(name)),
    [],
    "read by a config.ts but missing from .env.example",
  );
  assert.deepEqual(
    [...listed].filter((name) => !read.has(name)),
    [],
    "in .env.example but read by no config.ts",
  );
});
