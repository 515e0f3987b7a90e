/**
 * An operator's (de)activation of a user, as rooms see it: every room the
 * user is in is told live (member_changed DEACTIVATED / REACTIVATED, stored
 * for resume), and a direct room with them turns read-only until they are
 * reactivated.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { MemberChanged_Change, MemberRole, type RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { UserDeactivatedSchema, UserReactivatedSchema } from "@parley/proto/events/v1/events_pb.js";
import { TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { connect } from "amqplib";
import { recordUser } from "../src/domain/user-directory.js";
import type { PublishedEvent } from "../src/room-events.js";
import { createDb } from "../src/storage/db.js";
import { type Harness, rejectsWith, startHarness, type User } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

/** Publishes user.deactivated or user.reactivated as user-svc's relay does, stamped `at`. */
async function publishStatus(user: User, deactivated: boolean, at: Date): Promise<void> {
  const conn = await connect(TEST_RABBITMQ_URL);
  try {
    const ch = await conn.createConfirmChannel();
    const payload = { userId: user.userId, username: user.username, email: `${user.username}@example.test` };
    const body = deactivated
      ? toBinary(UserDeactivatedSchema, create(UserDeactivatedSchema, payload))
      : toBinary(UserReactivatedSchema, create(UserReactivatedSchema, payload));
    ch.publish(h.topology.exchange, deactivated ? "user.deactivated" : "user.reactivated", Buffer.from(body), {
      messageId: randomUUID(),
      headers: { "x-occurred-at": at.toISOString() },
    });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

type MemberChange = {
  roomId: string;
  eventSeq: bigint;
  userId: string;
  change: MemberChanged_Change;
  role: MemberRole;
};

/** The next `n` member_changed events about `userId` on the stream, skipping anything else. */
async function memberChanges(next: () => Promise<RoomEvent>, userId: string, n: number): Promise<MemberChange[]> {
  const seen: MemberChange[] = [];
  while (seen.length < n) {
    const e = await next();
    if (e.kind.case !== "memberChanged" || e.kind.value.userId !== userId) continue;
    const { change, role, byUserId } = e.kind.value;
    assert.equal(byUserId, "", "nobody in the rooms did it");
    seen.push({ roomId: e.roomId, eventSeq: e.eventSeq, userId, change, role });
  }
  return seen.sort((a, b) => a.roomId.localeCompare(b.roomId));
}

describe("deactivating a member", () => {
  test("tells every room they are in live, and turns a direct room with them read-only until reactivated", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const carol = await h.signIn();
    const { room: direct } = await h.client.openDirectRoom({ userId: bob.userId }, alice.call);
    assert.ok(direct);
    const group = await h.roomWith(alice, bob, carol);
    const elsewhere = await h.roomWith(carol, alice);
    const { message: earlier } = await h.client.sendMessage(
      { roomId: direct.id, text: "before", clientMessageId: "" },
      alice.call,
    );
    assert.ok(earlier);
    const heads = new Map<string, bigint>();
    for (const id of [direct.id, group, elsewhere]) {
      heads.set(id, (await h.client.getRoomHead({ roomId: id }, alice.call)).headEventSeq);
    }

    const abort = new AbortController();
    const stream = await h.openStream(undefined, abort.signal);
    try {
      await publishStatus(bob, true, new Date());
      const deactivated = await memberChanges(() => stream.next(), bob.userId, 2);
      assert.deepEqual(
        deactivated,
        [direct.id, group]
          .map((roomId) => ({
            roomId,
            // Each the next in its room's log: gapless.
            eventSeq: (heads.get(roomId) ?? 0n) + 1n,
            userId: bob.userId,
            change: MemberChanged_Change.DEACTIVATED,
            role: MemberRole.MEMBER,
          }))
          .sort((a, b) => a.roomId.localeCompare(b.roomId)),
      );
      // Stored for resume, and in the member list.
      const { events } = await h.client.listEvents({ roomId: group, afterEventSeq: heads.get(group) }, carol.call);
      assert.equal(events.length, 1);
      assert.equal(
        events[0]?.kind.case === "memberChanged" && events[0].kind.value.change,
        MemberChanged_Change.DEACTIVATED,
      );
      const { room } = await h.client.getRoom({ roomId: direct.id }, alice.call);
      assert.equal(room?.members.find((m) => m.userId === bob.userId)?.deactivated, true);
      assert.equal(
        (await h.client.getRoomHead({ roomId: elsewhere }, alice.call)).headEventSeq,
        heads.get(elsewhere),
        "a room bob is not in is not told",
      );

      // The direct room is read-only, for both of its users; its history stays readable.
      const send = await rejectsWith(
        h.client.sendMessage({ roomId: direct.id, text: "hello?", clientMessageId: "" }, alice.call),
        Code.FailedPrecondition,
        "USER_DEACTIVATED",
      );
      assert.match(send.rawMessage, /read-only.*deactivated/);
      // In a batch (the edge's path) the direct room's send fails alone.
      const { results } = await h.client.sendMessages(
        {
          items: [
            { accessToken: alice.token, request: { roomId: direct.id, text: "batched" } },
            { accessToken: alice.token, request: { roomId: group, text: "batched" } },
          ],
        },
        await h.serviceCall(),
      );
      const [refused, accepted] = results.map((r) => r.outcome);
      assert.deepEqual(refused?.case === "error" && [refused.value.code, refused.value.info?.reason], [
        Code.FailedPrecondition,
        "USER_DEACTIVATED",
      ]);
      assert.equal(accepted?.case, "message");
      await rejectsWith(
        h.client.editMessage({ roomId: direct.id, messageId: earlier.id, text: "edited" }, alice.call),
        Code.FailedPrecondition,
        "USER_DEACTIVATED",
      );
      await rejectsWith(
        h.client.addReaction({ roomId: direct.id, messageId: earlier.id, emoji: "👍" }, alice.call),
        Code.FailedPrecondition,
        "USER_DEACTIVATED",
      );
      await rejectsWith(
        h.client.removeReaction({ roomId: direct.id, messageId: earlier.id, emoji: "👍" }, alice.call),
        Code.FailedPrecondition,
        "USER_DEACTIVATED",
      );
      const { messages } = await h.client.listMessages({ roomId: direct.id }, alice.call);
      assert.deepEqual(
        messages.map((m) => m.text),
        ["before"],
      );
      // A group room with them takes messages as before.
      await h.client.sendMessage({ roomId: group, text: "still here", clientMessageId: "" }, carol.call);

      await publishStatus(bob, false, new Date());
      const reactivated = await memberChanges(() => stream.next(), bob.userId, 2);
      assert.deepEqual(
        reactivated.map((c) => [c.roomId, c.change]),
        [direct.id, group].sort().map((id) => [id, MemberChanged_Change.REACTIVATED]),
      );
      const { message } = await h.client.sendMessage(
        { roomId: direct.id, text: "welcome back", clientMessageId: "" },
        alice.call,
      );
      assert.equal(message?.text, "welcome back");
    } finally {
      abort.abort();
    }
  });

  test("a repeated or older event writes no room event", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const { room: direct } = await h.client.openDirectRoom({ userId: bob.userId }, alice.call);
    assert.ok(direct);
    const published: PublishedEvent[] = [];
    const deps = {
      db: createDb(h.infra.sql),
      events: { publish: (e: readonly PublishedEvent[]) => published.push(...e), close: async () => {} },
    };
    const at = new Date();
    const status = (deactivated: boolean, ms: number) => ({
      userId: bob.userId,
      username: bob.username,
      changedAt: new Date(at.getTime() + ms),
      status: { deactivated, changedAt: new Date(at.getTime() + ms) },
    });
    const head = async () => (await h.client.getRoomHead({ roomId: direct.id }, alice.call)).headEventSeq;
    const start = await head();

    await recordUser(deps, status(true, 0));
    assert.equal(await head(), start + 1n);
    assert.equal(published.length, 1);
    await recordUser(deps, status(true, 0)); // redelivered
    await recordUser(deps, status(true, 5)); // deactivated again, still deactivated
    await recordUser(deps, status(false, -10)); // a reactivation overtaken by the deactivation
    assert.equal(await head(), start + 1n, "nothing appended");
    assert.equal(published.length, 1, "nothing published");
    await rejectsWith(
      h.client.sendMessage({ roomId: direct.id, text: "hi", clientMessageId: "" }, alice.call),
      Code.FailedPrecondition,
      "USER_DEACTIVATED",
    );

    await recordUser(deps, status(false, 10));
    assert.equal(await head(), start + 2n);
    await recordUser(deps, status(false, 10));
    assert.equal(await head(), start + 2n);
    await h.client.sendMessage({ roomId: direct.id, text: "hi", clientMessageId: "" }, alice.call);
  });
});
