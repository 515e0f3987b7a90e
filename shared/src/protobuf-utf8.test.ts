import assert from "node:assert/strict";
import { test } from "node:test";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { useBufferUtf8Encoding } from "./protobuf-utf8.js";

test("the Buffer encoder writes the same bytes as TextEncoder, lone surrogates included", () => {
  const samples = [
    "",
    "ascii",
    "héllo wörld",
    "日本語テキスト",
    "emoji 😀👍🏽",
    "lone \ud800 high",
    "lone \udc00 low",
    "\u0000nul",
  ];
  const before = samples.map((s) => getTextEncoding().encodeUtf8(s));
  useBufferUtf8Encoding();
  const after = samples.map((s) => getTextEncoding().encodeUtf8(s));
  for (const [i, s] of samples.entries()) {
    assert.deepEqual(Buffer.from(after[i] as Uint8Array), Buffer.from(before[i] as Uint8Array), JSON.stringify(s));
  }
  assert.equal(getTextEncoding().decodeUtf8(after[2] as Uint8Array), "héllo wörld");
});
