import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "@connectrpc/connect";
import { appError, errorReason } from "@parley/shared/errors.js";
import { decodeClientFrame, encodeError, encodeServerFrame } from "./realtime/frame-codec.js";

const ROOM = "0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d";

test("decodes each client frame kind", () => {
  const sub = decodeClientFrame(JSON.stringify({ ref: "1", subscribe: { roomId: ROOM, afterSeq: "7" } }));
  assert.ok(sub.ok);
  assert.equal(sub.frame.ref, "1");
  assert.equal(sub.frame.kind.case, "subscribe");
  assert.equal(sub.frame.kind.case === "subscribe" && sub.frame.kind.value.afterSeq, 7n);

  const send = decodeClientFrame(JSON.stringify({ send: { roomId: ROOM, text: "hi", clientMessageId: "c1" } }));
  assert.ok(send.ok && send.frame.kind.case === "send");

  const ping = decodeClientFrame('{"ref":"p","ping":{}}');
  assert.ok(ping.ok && ping.frame.kind.case === "ping");
});

test("malformed input becomes an invalid_argument error, never a throw", () => {
  const cases: [string, string][] = [
    ["not json", ""],
    ["[1,2]", ""],
    ['"text"', ""],
    ['{"ref":"r1"}', "r1"], // no kind
    ['{"ref":"r2","bogus":{}}', "r2"], // unknown kind
    ['{"ref":"r3","ping":{},"send":{}}', "r3"], // two kinds
    ['{"ref":"r4","subscribe":{"roomId":"nope"}}', "r4"], // fails validation
    ['{"ref":"r5","subscribe":{"roomId":5}}', "r5"], // wrong type
  ];
  for (const [text, ref] of cases) {
    const decoded = decodeClientFrame(text);
    assert.ok(!decoded.ok, text);
    assert.equal(decoded.ref, ref, text);
    assert.equal(decoded.error.code, Code.InvalidArgument, text);
  }
  const invalid = decodeClientFrame('{"ref":"r4","subscribe":{"roomId":"nope"}}');
  assert.ok(!invalid.ok);
  assert.match(invalid.error.rawMessage, /room_id/);
  assert.equal(errorReason(invalid.error), "INVALID_ARGUMENT");
});

test("server frames are protobuf JSON; errors carry snake_case code and reason", () => {
  assert.equal(
    encodeServerFrame({ ref: "s", kind: { case: "subscribed", value: { roomId: ROOM, headSeq: 3n } } }),
    `{"ref":"s","subscribed":{"roomId":"${ROOM}","headSeq":"3"}}`,
  );
  assert.deepEqual(JSON.parse(encodeError(appError(Code.NotFound, "ROOM_NOT_FOUND", "no such room"), "x")), {
    ref: "x",
    error: { code: "not_found", message: "no such room", reason: "ROOM_NOT_FOUND" },
  });
});
