import assert from "node:assert/strict";
import { test } from "node:test";
import { clientFrames, decodeServerFrame, encodeClientFrame } from "./frames.js";

const ROOM = "00000000-0000-4000-8000-000000000001";
const MESSAGE = "00000000-0000-4000-8000-000000000002";

test("client frames are the JSON the README's protocol table shows", () => {
  const wire = (ref: string, kind: Parameters<typeof encodeClientFrame>[1]) => JSON.parse(encodeClientFrame(ref, kind));
  assert.deepEqual(wire("1", clientFrames.authenticate("t")), { ref: "1", authenticate: { token: "t" } });
  assert.deepEqual(wire("2", clientFrames.subscribe(ROOM, 41n)), {
    ref: "2",
    subscribe: { roomId: ROOM, afterEventSeq: "41" },
  });
  assert.deepEqual(wire("4", clientFrames.send({ roomId: ROOM, text: "hi", clientMessageId: "c-1" })), {
    ref: "4",
    send: { roomId: ROOM, text: "hi", clientMessageId: "c-1" },
  });
  assert.deepEqual(
    wire("4", clientFrames.send({ roomId: ROOM, text: "re", clientMessageId: "c-2", parentId: MESSAGE })),
    { ref: "4", send: { roomId: ROOM, text: "re", clientMessageId: "c-2", parentId: MESSAGE } },
  );
  assert.deepEqual(wire("5", clientFrames.edit(ROOM, MESSAGE, "hi!")), {
    ref: "5",
    edit: { roomId: ROOM, messageId: MESSAGE, text: "hi!" },
  });
  assert.deepEqual(wire("7", clientFrames.react(ROOM, MESSAGE, "👍")), {
    ref: "7",
    react: { roomId: ROOM, messageId: MESSAGE, emoji: "👍" },
  });
  assert.deepEqual(wire("", clientFrames.typing(ROOM)), { typing: { roomId: ROOM } });
  assert.deepEqual(wire("8", clientFrames.markRead(ROOM, 13n)), { ref: "8", markRead: { roomId: ROOM, seq: "13" } });
});

test("server frames decode to typed values, and fields a newer server adds are skipped", () => {
  const frame = decodeServerFrame(
    `{"ref":"2","subscribed":{"roomId":"${ROOM}","headSeq":"12","headEventSeq":"45","truncated":true,"later":1}}`,
  );
  assert.equal(frame.ref, "2");
  assert.equal(frame.kind.case, "subscribed");
  if (frame.kind.case !== "subscribed") return;
  assert.equal(frame.kind.value.headEventSeq, 45n);
  assert.equal(frame.kind.value.truncated, true);
});
