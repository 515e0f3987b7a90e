import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { RoomVisibility } from "@parley/proto/chat/v1/chat_pb.js";
import { createTokenKeys } from "@parley/shared/auth.js";
import { sessionKey } from "@parley/shared/sessions.js";
import { bearer, type Harness, rejectsWith, startHarness } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

describe("rooms", () => {
  test("the creator owns a new room and the listed users are its members", async () => {
    const alice = await h.signIn("alice");
    const bob = await h.signIn("bob");
    const carol = await h.signIn("carol");
    const started = Date.now();
    const { room } = await h.client.createRoom(
      // The creator listed among the members is still one member, the owner.
      { name: "  general ", memberIds: [bob.userId, carol.userId.toUpperCase(), alice.userId] },
      alice.call,
    );
    assert.ok(room);
    assert.equal(room.name, "general");
    assert.equal(room.visibility, RoomVisibility.PUBLIC, "unspecified visibility means public");
    assert.equal(room.createdBy, alice.userId);
    assert.equal(room.headSeq, 0n);
    assert.deepEqual([...room.memberIds].sort(), [alice.userId, bob.userId, carol.userId].sort());
    assert.equal(room.memberIds[0], alice.userId, "the owner comes first");
    assert.ok(room.createdAt && Math.abs(timestampDate(room.createdAt).getTime() - started) < 60_000);

    const got = await h.client.getRoom({ roomId: room.id }, carol.call);
    assert.deepEqual(got.room, room);
  });

  test("GetRoomHead gives a member the heads GetRoom gives, and outsiders nothing more than GetRoom", async () => {
    const owner = await h.signIn();
    const member = await h.signIn();
    const outsider = await h.signIn();
    const { room: priv } = await h.client.createRoom(
      { name: "heads", visibility: RoomVisibility.PRIVATE, memberIds: [member.userId] },
      owner.call,
    );
    assert.ok(priv);
    assert.deepEqual(
      { ...(await h.client.getRoomHead({ roomId: priv.id }, member.call)) },
      { $typeName: "parley.chat.v1.GetRoomHeadResponse", headSeq: 0n, headEventSeq: priv.headEventSeq },
    );
    await h.client.sendMessage({ roomId: priv.id, text: "one" }, owner.call);
    await h.client.sendMessage({ roomId: priv.id, text: "two" }, member.call);
    const head = await h.client.getRoomHead({ roomId: priv.id }, owner.call);
    const { room } = await h.client.getRoom({ roomId: priv.id }, owner.call);
    assert.equal(head.headSeq, 2n);
    assert.equal(head.headSeq, room?.headSeq);
    assert.equal(head.headEventSeq, room?.headEventSeq);
    assert.equal(head.headEventSeq, priv.headEventSeq + 2n, "two messages, two log entries");

    await rejectsWith(h.client.getRoomHead({ roomId: priv.id }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(h.client.getRoomHead({ roomId: randomUUID() }, member.call), Code.NotFound, "ROOM_NOT_FOUND");
    const { room: pub } = await h.client.createRoom(
      { name: "open", visibility: RoomVisibility.PUBLIC, memberIds: [] },
      owner.call,
    );
    assert.ok(pub);
    await rejectsWith(h.client.getRoomHead({ roomId: pub.id }, outsider.call), Code.PermissionDenied, "NOT_A_MEMBER");
    await rejectsWith(
      h.client.getRoomHead({ roomId: "not-a-uuid" }, member.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
  });

  test("a public room: outsiders learn it exists, must join to use it, and joining is idempotent", async () => {
    const owner = await h.signIn();
    const dave = await h.signIn("dave");
    const { room } = await h.client.createRoom(
      { name: "lobby", visibility: RoomVisibility.PUBLIC, memberIds: [] },
      owner.call,
    );
    assert.ok(room);
    await rejectsWith(h.client.getRoom({ roomId: room.id }, dave.call), Code.PermissionDenied, "NOT_A_MEMBER");
    await rejectsWith(
      h.client.sendMessage({ roomId: room.id, text: "hi" }, dave.call),
      Code.PermissionDenied,
      "NOT_A_MEMBER",
    );
    await rejectsWith(h.client.listMessages({ roomId: room.id }, dave.call), Code.PermissionDenied, "NOT_A_MEMBER");

    const joined = await h.client.joinRoom({ roomId: room.id }, dave.call);
    assert.deepEqual(joined.room?.memberIds, [owner.userId, dave.userId]);
    const again = await h.client.joinRoom({ roomId: room.id }, dave.call);
    assert.deepEqual(again.room?.memberIds, [owner.userId, dave.userId]);
    const ownerJoins = await h.client.joinRoom({ roomId: room.id }, owner.call);
    assert.deepEqual(ownerJoins.room?.memberIds, [owner.userId, dave.userId]);

    const { message } = await h.client.sendMessage({ roomId: room.id, text: "hi" }, dave.call);
    assert.equal(message?.seq, 1n);
    assert.equal(message?.senderUsername, "dave");
    const got = await h.client.getRoom({ roomId: room.id }, dave.call);
    assert.equal(got.room?.headSeq, 1n);
  });

  test("a private room is indistinguishable from a missing one to outsiders", async () => {
    const owner = await h.signIn();
    const member = await h.signIn();
    const outsider = await h.signIn();
    const { room } = await h.client.createRoom(
      { name: "secret", visibility: RoomVisibility.PRIVATE, memberIds: [member.userId] },
      owner.call,
    );
    assert.ok(room);
    assert.equal(room.visibility, RoomVisibility.PRIVATE);
    const got = await h.client.getRoom({ roomId: room.id }, member.call);
    assert.equal(got.room?.id, room.id);

    for (const roomId of [room.id, randomUUID()]) {
      await rejectsWith(h.client.getRoom({ roomId }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
      await rejectsWith(h.client.joinRoom({ roomId }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
      await rejectsWith(
        h.client.sendMessage({ roomId, text: "let me in" }, outsider.call),
        Code.NotFound,
        "ROOM_NOT_FOUND",
      );
      await rejectsWith(h.client.listMessages({ roomId }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
    }
    const after = await h.client.getRoom({ roomId: room.id }, owner.call);
    assert.deepEqual(after.room?.memberIds, [owner.userId, member.userId], "the failed join added no one");
  });

  test("invalid input is refused with InvalidArgument naming the field", async () => {
    const user = await h.signIn();
    const bad = [
      () => h.client.createRoom({ name: "" }, user.call),
      () => h.client.createRoom({ name: "   " }, user.call),
      () => h.client.createRoom({ name: "x".repeat(81) }, user.call),
      () => h.client.createRoom({ name: "ok", memberIds: ["not-a-uuid"] }, user.call),
      () => h.client.createRoom({ name: "ok", visibility: 7 as RoomVisibility }, user.call),
      () => h.client.getRoom({ roomId: "not-a-uuid" }, user.call),
      () => h.client.joinRoom({ roomId: "" }, user.call),
      () => h.client.createRoom({ name: "nul\u0000name" }, user.call),
      () => h.client.updateRoom({ roomId: "00000000-0000-4000-8000-000000000000", name: "a\u0000" }, user.call),
      // Names and topics are one line of visible text.
      () => h.client.createRoom({ name: "a\nb" }, user.call),
      () => h.client.createRoom({ name: "a\r\nb" }, user.call),
      () => h.client.createRoom({ name: "\u202Eevil" }, user.call),
      () => h.client.createRoom({ name: "zero\u200Bwidth" }, user.call),
      () => h.client.createRoom({ name: "ok", topic: "line\nbreak" }, user.call),
      () => h.client.updateRoom({ roomId: "00000000-0000-4000-8000-000000000000", name: "a\nb" }, user.call),
      () => h.client.updateRoom({ roomId: "00000000-0000-4000-8000-000000000000", topic: "a\tb" }, user.call),
    ];
    for (const call of bad) {
      const err = await rejectsWith(call(), Code.InvalidArgument, "INVALID_ARGUMENT");
      assert.match(err.rawMessage, /^(name|topic|member_ids\[0\]|visibility|room_id):/);
      assert.ok(!err.rawMessage.includes("\u0000"), "the message quotes no NUL");
    }
    // An emoji sequence's joiner is visible, so it is kept.
    const { room } = await h.client.createRoom({ name: "Pride 🏳️\u200D🌈", topic: "Devs 👩\u200D💻" }, user.call);
    assert.equal(room?.name, "Pride 🏳️\u200D🌈");
  });

  test("calls without a valid token or live session are Unauthenticated", async () => {
    const user = await h.signIn();
    const req = { name: "r" };
    await rejectsWith(h.client.createRoom(req), Code.Unauthenticated, "UNAUTHENTICATED");
    await rejectsWith(h.client.createRoom(req, bearer("not.a.jwt")), Code.Unauthenticated, "UNAUTHENTICATED");
    const forged = await createTokenKeys("a-different-secret-that-is-long-enough!").issueAccess(
      { userId: user.userId, sessionId: user.sessionId, username: user.username },
      900,
    );
    await rejectsWith(h.client.createRoom(req, bearer(forged)), Code.Unauthenticated, "UNAUTHENTICATED");
    const service = await h.keys.issueService("edge", 900);
    await rejectsWith(h.client.createRoom(req, bearer(service)), Code.Unauthenticated, "UNAUTHENTICATED");

    await h.client.createRoom(req, user.call);
    await h.infra.redis.del(sessionKey(h.config.REDIS_KEY_PREFIX, user.sessionId));
    await rejectsWith(h.client.createRoom(req, user.call), Code.Unauthenticated, "UNAUTHENTICATED");
  });
});
