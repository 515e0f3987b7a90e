import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ClientFrameSchema } from "@parley/proto/realtime/v1/realtime_pb.js";
import { appError, errorReason } from "@parley/shared/errors.js";
import WebSocket, { WebSocketServer } from "ws";
import {
  broadcastFrame,
  decodeClientFrame,
  encodeError,
  encodeServerFrame,
  heartbeatFrame,
} from "./realtime/frame-codec.js";

const ROOM = "0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d";

test("decodes each client frame kind", () => {
  const sub = decodeClientFrame(JSON.stringify({ ref: "1", subscribe: { roomId: ROOM, afterEventSeq: "7" } }));
  assert.ok(sub.ok);
  assert.equal(sub.frame.ref, "1");
  assert.equal(sub.frame.kind.case, "subscribe");
  assert.equal(sub.frame.kind.case === "subscribe" && sub.frame.kind.value.afterEventSeq, 7n);

  const send = decodeClientFrame(JSON.stringify({ send: { roomId: ROOM, text: "hi", clientMessageId: "c1" } }));
  assert.ok(send.ok && send.frame.kind.case === "send");
  // Chat request rules hold on the socket: they are the same message.
  const tooLong = decodeClientFrame(JSON.stringify({ ref: "l", send: { roomId: ROOM, text: "x".repeat(4001) } }));
  assert.ok(!tooLong.ok);
  assert.match(tooLong.error.rawMessage, /send\.text/);

  const ping = decodeClientFrame('{"ref":"p","ping":{}}');
  assert.ok(ping.ok && ping.frame.kind.case === "ping");

  const MSG = "7d0c1c1e-3b7a-4f5e-9d4b-2f0e1a2b3c4d";
  const kinds: [string, unknown][] = [
    ["edit", { roomId: ROOM, messageId: MSG, text: "fixed" }],
    ["delete", { roomId: ROOM, messageId: MSG }],
    ["react", { roomId: ROOM, messageId: MSG, emoji: "👍" }],
    ["unreact", { roomId: ROOM, messageId: MSG, emoji: ":tada:" }],
    ["typing", { roomId: ROOM }],
    ["markRead", { roomId: ROOM, seq: "12" }],
  ];
  const requests: Record<string, string> = {
    edit: "EditMessageRequest",
    delete: "DeleteMessageRequest",
    react: "AddReactionRequest",
    unreact: "RemoveReactionRequest",
    typing: "SendTypingRequest",
    markRead: "MarkReadRequest",
  };
  for (const [kind, value] of kinds) {
    const json = JSON.stringify({ ref: kind, [kind]: value });
    const decoded = decodeClientFrame(json);
    assert.ok(decoded.ok, kind);
    assert.equal(decoded.frame.kind.case, kind);
    // ChatService's own request, and the same JSON as before it was.
    assert.equal(decoded.frame.kind.value?.$typeName, `parley.chat.v1.${requests[kind]}`);
    assert.equal(toJsonString(ClientFrameSchema, decoded.frame), json);
  }
  assert.equal(send.frame.kind.value.$typeName, "parley.chat.v1.SendMessageRequest");
  // The old resume field is gone: naming it is an error, not a silent live-only subscribe.
  const old = decodeClientFrame(JSON.stringify({ ref: "o", subscribe: { roomId: ROOM, afterSeq: "7" } }));
  assert.ok(!old.ok);
  assert.match(old.error.rawMessage, /afterSeq/);
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
    ['{"ref":"r6","react":{"roomId":"nope","messageId":"x","emoji":""}}', "r6"], // fails validation
    ['{"ref":"r7","markRead":{"roomId":"0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d","seq":"-1"}}', "r7"], // negative seq
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
    encodeServerFrame({
      ref: "s",
      kind: { case: "subscribed", value: { roomId: ROOM, headSeq: 3n, headEventSeq: 9n, truncated: true } },
    }),
    `{"ref":"s","subscribed":{"roomId":"${ROOM}","headSeq":"3","headEventSeq":"9","truncated":true}}`,
  );
  assert.equal(
    encodeServerFrame({ kind: { case: "readAck", value: { roomId: ROOM, lastReadSeq: 4n, unreadCount: 2n } } }),
    `{"readAck":{"roomId":"${ROOM}","lastReadSeq":"4","unreadCount":"2"}}`,
  );
  assert.match(
    encodeServerFrame({ kind: { case: "heartbeat", value: { serverTime: { seconds: 0n, nanos: 0 } } } }),
    /^\{"heartbeat":\{"serverTime":"1970-01-01T00:00:00Z"\}\}$/,
  );
  assert.deepEqual(JSON.parse(encodeError(appError(Code.NotFound, "ROOM_NOT_FOUND", "no such room"), "x")), {
    ref: "x",
    error: { code: "not_found", message: "no such room", reason: "ROOM_NOT_FOUND" },
  });
});

test("a broadcast frame, written straight to the socket, reaches a ws client as text at every length encoding", async () => {
  // 7-bit, 16-bit and 64-bit payload lengths; multi-byte characters count in bytes.
  const sizes = [5, 125, 126, 300, 65_535, 65_536, 70_000];
  const texts = sizes.map((size) =>
    JSON.stringify({ text: "é".repeat(Math.max(0, Math.floor((size - 11) / 2))) }).padEnd(size, " "),
  );
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  server.on("connection", (_ws, req) => {
    for (const text of texts) {
      const frame = broadcastFrame(text);
      assert.equal(frame.payload.toString(), text);
      req.socket.write(frame.wire);
    }
  });
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const got: { text: string; isBinary: boolean }[] = [];
  await new Promise<void>((resolve, reject) => {
    client.on("message", (data: Buffer, isBinary: boolean) => {
      got.push({ text: data.toString(), isBinary });
      if (got.length === texts.length) resolve();
    });
    client.on("error", reject);
  });
  client.close();
  server.close();
  assert.deepEqual(
    got,
    texts.map((text) => ({ text, isBinary: false })),
  );
});

test("a heartbeat frame is a protocol ping then the heartbeat text, in one write", async () => {
  const text = encodeServerFrame({ kind: { case: "heartbeat", value: { serverTime: { seconds: 1n, nanos: 0 } } } });
  const beat = heartbeatFrame(text);
  assert.equal(beat.ping, true);
  assert.equal(beat.payload.toString(), text);
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  server.on("connection", (_ws, req) => {
    req.socket.write(beat.wire);
    req.socket.write(beat.wire);
  });
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    client.on("ping", (data: Buffer) => got.push(`ping:${data.length}`));
    client.on("message", (data: Buffer, isBinary: boolean) => {
      got.push(isBinary ? "binary" : data.toString());
      if (got.length === 4) resolve();
    });
    client.on("error", reject);
  });
  client.close();
  server.close();
  assert.deepEqual(got, ["ping:0", text, "ping:0", text]);
});
