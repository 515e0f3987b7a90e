import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { UpdateRoomRequestSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { NotificationLevel, UpdateProfileRequestSchema } from "@parley/proto/user/v1/user_pb.js";
import { decode, definedOnly, withParams } from "./rest/codec.js";
import { tokenClaims } from "./token-claims.js";

const ROOM = "0b8a3e4c-5a51-4c41-9a0e-5a1f1a2b3c4d";

function decodeError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.InvalidArgument);
    return err.rawMessage;
  }
  assert.fail("expected an error");
}

test("unknown keys are ignored, unknown enum values are not", () => {
  const ok = decode(UpdateProfileRequestSchema, {
    bio: "hi",
    favouriteColour: "blue",
    notificationLevel: "NOTIFICATION_LEVEL_NONE",
  });
  assert.equal(ok.bio, "hi");
  assert.equal(ok.notificationLevel, NotificationLevel.NONE);
  assert.equal(
    decodeError(() => decode(UpdateProfileRequestSchema, { notificationLevel: "NOTIFICATION_LEVEL_LOUD" })),
    'notification_level: unknown value "NOTIFICATION_LEVEL_LOUD" (one of all, mentions_and_direct, none)',
  );
  assert.match(
    decodeError(() => decode(UpdateProfileRequestSchema, { displayName: 42 })),
    /^display_name: /,
  );
  assert.match(
    decodeError(() => decode(UpdateProfileRequestSchema, [])),
    /JSON object/,
  );
  // Proto names work as well as JSON names.
  assert.equal(decode(UpdateProfileRequestSchema, { status_text: "away" }).statusText, "away");
});

test("path parameters override the body; absent bodies and query values", () => {
  const req = decode(UpdateRoomRequestSchema, withParams({ roomId: "elsewhere", name: "n" }, { roomId: ROOM }));
  assert.equal(req.roomId, ROOM);
  assert.equal(req.name, "n");
  assert.equal(req.topic, undefined);
  assert.deepEqual(withParams(undefined, { roomId: ROOM }), { roomId: ROOM });
  assert.equal(withParams("text", { roomId: ROOM }), "text");
  assert.deepEqual(definedOnly({ a: "1", b: undefined }), { a: "1" });
});

test("token claims are read without verification, and nonsense is no token", () => {
  const payload = Buffer.from(JSON.stringify({ sub: "u1", sid: "s1", exp: 2_000_000_000 })).toString("base64url");
  const token = `eyJhbGciOiJIUzI1NiJ9.${payload}.sig`;
  assert.deepEqual(tokenClaims(token), { userId: "u1", sessionId: "s1" });
  assert.equal(tokenClaims("garbage"), undefined);
  const noSid = Buffer.from(JSON.stringify({ sub: "u1" })).toString("base64url");
  assert.equal(tokenClaims(`eyJhbGciOiJIUzI1NiJ9.${noSid}.sig`), undefined);
});
