import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { MemberRole, type Message } from "@parley/proto/chat/v1/chat_pb.js";
import { parseMentions } from "../src/domain/mentions.js";
import { type Harness, rejectsWith, startHarness, type User, waitFor } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

async function send(roomId: string, from: User, text: string, parentId = ""): Promise<Message> {
  const { message } = await h.client.sendMessage({ roomId, text, parentId }, from.call);
  assert.ok(message);
  return message;
}

async function listed(roomId: string, as: User): Promise<Map<string, Message>> {
  const page = await h.client.listMessages({ roomId, limit: 200 }, as.call);
  return new Map(page.messages.map((m) => [m.id, m]));
}

/** Waits for a marker domain event; the relay publishes in outbox order, so every earlier event is in too. */
async function drainEvents(roomId: string, sender: User): Promise<void> {
  const marker = await send(roomId, sender, "marker");
  await waitFor(() => h.sentEvents.find((e) => e.messageId === marker.id), 10_000, "marker event");
}

describe("replies", () => {
  test("a reply names a message of the same room; anything else is PARENT_NOT_FOUND and takes no seq", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    const otherRoom = await h.roomWith(alice);
    const parent = await send(roomId, alice, "question");
    const elsewhere = await send(otherRoom, alice, "elsewhere");
    const reply = await send(roomId, alice, "answer", parent.id.toUpperCase());
    assert.equal(reply.parentId, parent.id);
    assert.equal(reply.seq, 2n);

    for (const parentId of [elsewhere.id, "5a7f4c1e-2b9d-4e8a-9c3f-1d2e3f4a5b6c"]) {
      const err = await rejectsWith(
        h.client.sendMessage({ roomId, text: "lost", parentId }, alice.call),
        Code.InvalidArgument,
        "PARENT_NOT_FOUND",
      );
      assert.match(err.rawMessage, /^parent_id:/);
    }
    const next = await send(roomId, alice, "after");
    assert.equal(next.seq, 3n, "refused replies took no seq");
    const all = await listed(roomId, alice);
    assert.equal(all.get(reply.id)?.parentId, parent.id);
  });
});

describe("mentions", () => {
  test("@username is parsed into lower-cased, unique mentions, at most 50, and travels in message.sent", async () => {
    assert.deepEqual(parseMentions("hi @Bob and @bob, @carol_1! mail@example.com @xy @ @@dave (@erin)"), [
      "bob",
      "carol_1",
      "erin",
    ]);
    assert.deepEqual(parseMentions(`@${"a".repeat(33)} @${"b".repeat(32)}`), ["b".repeat(32)]);
    const many = Array.from({ length: 60 }, (_, i) => `@user${i}`).join(" ");
    assert.equal(parseMentions(many).length, 50);

    const alice = await h.signIn();
    const bob = await h.signIn("bob");
    const roomId = await h.roomWith(alice, bob);
    const message = await send(roomId, alice, "ping @BOB and @Carol, again @bob");
    assert.deepEqual(message.mentions, ["bob", "carol"]);
    const event = await waitFor(() => h.sentEvents.find((e) => e.messageId === message.id), 10_000, "message.sent");
    assert.deepEqual(event.mentions, ["bob", "carol"]);
    assert.equal(event.direct, false);
    assert.deepEqual((await listed(roomId, bob)).get(message.id)?.mentions, ["bob", "carol"]);
  });
});

describe("edit and delete", () => {
  test("only the author edits; an edit sets editedAt and re-parses mentions", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    const original = await send(roomId, bob, "hello @alice");
    await rejectsWith(
      h.client.editMessage({ roomId, messageId: original.id, text: "hacked" }, alice.call),
      Code.PermissionDenied,
      "NOT_YOUR_MESSAGE",
    );
    await rejectsWith(
      h.client.editMessage({ roomId, messageId: "5a7f4c1e-2b9d-4e8a-9c3f-1d2e3f4a5b6c", text: "x" }, bob.call),
      Code.NotFound,
      "MESSAGE_NOT_FOUND",
    );
    await rejectsWith(
      h.client.editMessage({ roomId, messageId: original.id, text: "  " }, bob.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    await rejectsWith(
      h.client.editMessage({ roomId, messageId: original.id, text: "a\u0000" }, bob.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    const { message: edited } = await h.client.editMessage(
      { roomId, messageId: original.id, text: "hello @carol" },
      bob.call,
    );
    assert.ok(edited?.editedAt);
    assert.equal(edited.text, "hello @carol");
    assert.deepEqual(edited.mentions, ["carol"]);
    assert.equal(edited.seq, original.seq);
    assert.ok(Math.abs(timestampDate(edited.editedAt).getTime() - Date.now()) < 60_000);
    assert.deepEqual((await listed(roomId, alice)).get(original.id), edited, "listed as edited");
  });

  test("delete is soft: own messages, or any for owners and admins; the message stays listed, emptied", async () => {
    const owner = await h.signIn();
    const admin = await h.signIn();
    const bob = await h.signIn();
    const carol = await h.signIn();
    const roomId = await h.roomWith(owner, admin, bob, carol);
    await h.client.setMemberRole({ roomId, userId: admin.userId, role: MemberRole.ADMIN }, owner.call);
    const bobs = await send(roomId, bob, "mine @carol");
    const carols = await send(roomId, carol, "carol's");
    const owners = await send(roomId, owner, "owner's");
    await h.client.addReaction({ roomId, messageId: bobs.id, emoji: "👍" }, carol.call);

    await rejectsWith(
      h.client.deleteMessage({ roomId, messageId: bobs.id }, carol.call),
      Code.PermissionDenied,
      "NOT_YOUR_MESSAGE",
    );
    const { message: deleted } = await h.client.deleteMessage({ roomId, messageId: bobs.id }, bob.call);
    assert.equal(deleted?.deleted, true);
    assert.equal(deleted?.text, "");
    assert.deepEqual(deleted?.mentions, []);
    assert.deepEqual(deleted?.reactions, []);
    assert.equal(deleted?.seq, bobs.seq);
    // Deleting again changes nothing (and emits nothing, checked below).
    const again = await h.client.deleteMessage({ roomId, messageId: bobs.id }, bob.call);
    assert.deepEqual(again.message, deleted);

    await h.client.deleteMessage({ roomId, messageId: carols.id }, admin.call);
    await h.client.deleteMessage({ roomId, messageId: owners.id }, admin.call);
    await rejectsWith(
      h.client.editMessage({ roomId, messageId: bobs.id, text: "back" }, bob.call),
      Code.FailedPrecondition,
      "MESSAGE_DELETED",
    );
    await rejectsWith(
      h.client.addReaction({ roomId, messageId: bobs.id, emoji: "👍" }, carol.call),
      Code.FailedPrecondition,
      "MESSAGE_DELETED",
    );

    const page = await h.client.listMessages({ roomId }, carol.call);
    assert.deepEqual(
      page.messages.map((m) => [Number(m.seq), m.deleted, m.text]),
      [
        [1, true, ""],
        [2, true, ""],
        [3, true, ""],
      ],
    );
    assert.equal(page.headSeq, 3n);

    await drainEvents(roomId, owner);
    const deletions = h.eventsOf("message.deleted").filter((e) => e.roomId === roomId);
    assert.deepEqual(
      deletions.map((e) => [e.messageId, e.seq]),
      [
        [bobs.id, 1n],
        [carols.id, 2n],
        [owners.id, 3n],
      ],
      "one message.deleted per deletion",
    );
  });
});

describe("reactions", () => {
  test("adding and removing are idempotent; reactions aggregate per emoji in first-reaction order", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    const message = await send(roomId, alice, "react to me");
    const react = (by: User, emoji: string, added = true) =>
      (added ? h.client.addReaction : h.client.removeReaction)({ roomId, messageId: message.id, emoji }, by.call);

    await react(bob, "👍");
    const twice = await react(bob, "👍");
    assert.deepEqual(
      twice.message?.reactions.map((r) => [r.emoji, r.userIds]),
      [["👍", [bob.userId]]],
    );
    await react(alice, ":tada:");
    const both = await react(alice, "👍");
    assert.deepEqual(
      both.message?.reactions.map((r) => [r.emoji, r.userIds]),
      [
        ["👍", [bob.userId, alice.userId]],
        [":tada:", [alice.userId]],
      ],
    );
    assert.deepEqual((await listed(roomId, bob)).get(message.id)?.reactions, both.message?.reactions);

    const removed = await react(bob, "👍", false);
    const removedAgain = await react(bob, "👍", false);
    assert.deepEqual(removedAgain.message, removed.message);
    // Ordered by the earliest reaction still there: alice's 👍 came after her :tada:.
    assert.deepEqual(
      removed.message?.reactions.map((r) => [r.emoji, r.userIds]),
      [
        [":tada:", [alice.userId]],
        ["👍", [alice.userId]],
      ],
    );

    // Only the four real changes are in the room's log.
    const { events } = await h.client.listEvents({ roomId, afterEventSeq: 1n }, alice.call);
    assert.deepEqual(
      events.map((e) =>
        e.kind.case === "reactionChanged" ? [e.kind.value.emoji, e.kind.value.userId, e.kind.value.added] : e.kind.case,
      ),
      [
        ["👍", bob.userId, true],
        [":tada:", alice.userId, true],
        ["👍", alice.userId, true],
        ["👍", bob.userId, false],
      ],
    );
    await rejectsWith(
      h.client.addReaction({ roomId, messageId: message.id, emoji: " " }, bob.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    await rejectsWith(
      h.client.addReaction({ roomId, messageId: message.id, emoji: "\u0000" }, bob.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
  });
});
