import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import type { Status } from "@parley/proto/rpc/v1/error_pb.js";
import { createBatcher } from "@parley/shared/batcher.js";
import { errorReason, unauthenticated } from "@parley/shared/errors.js";
import { createLogger } from "@parley/shared/logger.js";
import { pipelinedTransaction } from "@parley/shared/pipelined-transaction.js";
import { sessionKey } from "@parley/shared/sessions.js";
import { budgetSettings, createActionBudgets } from "../src/domain/action-budgets.js";
import type { DomainDeps, MessageView } from "../src/domain/deps.js";
import { type SendRequest, writeMessages } from "../src/domain/send-message.js";
import { createRoomEventPublisher } from "../src/room-events.js";
import { createDb } from "../src/storage/db.js";
import { createMemberAddBudget } from "../src/storage/member-add-budget.js";
import { findClientKeys, findMemberships } from "../src/storage/send-batch.js";
import { createUserLookup } from "../src/user-lookup.js";
import { type Harness, rejectsWith, startHarness, type User, waitUntil } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

function reasonOf(outcome: PromiseSettledResult<unknown>): string {
  assert.equal(outcome.status, "rejected");
  return errorReason(ConnectError.from((outcome as PromiseRejectedResult).reason));
}

function fulfilled(outcome: PromiseSettledResult<MessageView> | undefined): MessageView {
  assert.equal(outcome?.status, "fulfilled", outcome?.status === "rejected" ? String(outcome.reason) : "");
  return (outcome as PromiseFulfilledResult<MessageView>).value;
}

describe("batched sends", () => {
  test("1,000 concurrent sends over 20 rooms: gapless seqs per room, retries answered once, an outsider fails alone", async () => {
    const members: User[] = await Promise.all(Array.from({ length: 5 }, () => h.signIn()));
    const outsider = await h.signIn();
    const [owner, ...others] = members as [User, ...User[]];
    const roomIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { room } = await h.client.createRoom({ name: `r${i}`, memberIds: others.map((u) => u.userId) }, owner.call);
      assert.ok(room);
      roomIds.push(room.id);
    }
    // 900 distinct sends, each tenth followed at once by a retry of itself
    // (same sender, same key): most land in the same batch as their original.
    type Req = { roomId: string; sender: User; clientMessageId: string; text: string };
    const requests: Req[] = [];
    for (let i = 0; i < 900; i++) {
      const r = {
        roomId: roomIds[i % 20] as string,
        sender: members[i % 5] as User,
        clientMessageId: `k${i}`,
        text: `m${i}`,
      };
      requests.push(r);
      if (i % 9 === 0 && requests.length < 1000) requests.push({ ...r });
    }
    assert.equal(requests.length, 1000);
    const outsiderSends = roomIds.slice(0, 5).map((roomId) =>
      h.client.sendMessage({ roomId, text: "let me in" }, outsider.call).then(
        () => assert.fail("an outsider's send succeeded"),
        (err: unknown) => errorReason(ConnectError.from(err)),
      ),
    );
    const results = await Promise.all(
      requests.map((r) =>
        h.client.sendMessage({ roomId: r.roomId, text: r.text, clientMessageId: r.clientMessageId }, r.sender.call),
      ),
    );
    assert.deepEqual(await Promise.all(outsiderSends), Array(5).fill("NOT_A_MEMBER"));

    const byKey = new Map<string, Message>();
    requests.forEach((r, i) => {
      const message = results[i]?.message;
      assert.ok(message);
      assert.equal(message.text, r.text);
      const key = `${r.roomId} ${r.clientMessageId}`;
      const earlier = byKey.get(key);
      if (earlier) assert.deepEqual(message, earlier, "a retry gets the stored message");
      byKey.set(key, message);
    });
    const unique = [...byKey.values()];
    assert.equal(unique.length, 900, "one message per distinct key");
    for (const roomId of roomIds) {
      const seqs = unique
        .filter((m) => m.roomId === roomId)
        .map((m) => Number(m.seq))
        .sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, i) => i + 1),
        "seqs 1..n",
      );
      const rows = await h.infra.sql<{ seq: string; event_seq: string }[]>`
        select m.seq::text, e.event_seq::text from messages m
        full join room_events e on e.room_id = m.room_id and e.event_seq = m.seq
        where m.room_id = ${roomId} or e.room_id = ${roomId} order by m.seq`;
      assert.equal(rows.length, seqs.length, "one log entry per message");
      assert.ok(rows.every((r) => r.seq === r.event_seq));
      const { room } = await h.client.getRoom({ roomId }, owner.call);
      assert.equal(room?.headSeq, BigInt(seqs.length));
      assert.equal(room?.headEventSeq, BigInt(seqs.length));
    }
    await waitUntil(
      () => h.sentEvents.filter((e) => roomIds.includes(e.roomId)).length >= unique.length,
      20_000,
      "message.sent for every message",
    );
    const sent = h.sentEvents.filter((e) => roomIds.includes(e.roomId));
    assert.equal(sent.length, unique.length, "one message.sent per message, none for retries");
    assert.equal(new Set(sent.map((e) => e.messageId)).size, unique.length);
  });

  test("within one batch: a failure stays with its request, and a retry of an earlier request gets its message", async () => {
    const logger = createLogger("test", "silent");
    const users = createUserLookup({ baseUrl: h.userSvc.url, secret: h.config.JWT_SECRET, logger });
    const deps: DomainDeps = {
      db: createDb(h.infra.sql),
      sql: h.infra.sql,
      redis: h.infra.redis,
      keyPrefix: h.config.REDIS_KEY_PREFIX,
      events: createRoomEventPublisher({
        redis: h.infra.redis,
        prefix: h.config.REDIS_KEY_PREFIX,
        logger,
        origin: "batching-test",
      }),
      users,
      memberAdds: createMemberAddBudget({
        redis: h.infra.redis,
        prefix: h.config.REDIS_KEY_PREFIX,
        perMinute: h.config.MEMBER_ADDS_PER_MINUTE,
      }),
      budgets: createActionBudgets({
        redis: h.infra.redis,
        prefix: h.config.REDIS_KEY_PREFIX,
        settings: budgetSettings(h.config),
      }),
      reactionLimits: { perMessage: h.config.MAX_REACTIONS_PER_MESSAGE, perUser: h.config.MAX_REACTIONS_PER_USER },
    };
    const alice = await h.signIn();
    const bob = await h.signIn();
    const outsider = await h.signIn();
    const { room: a } = await h.client.createRoom({ name: "a", memberIds: [bob.userId] }, alice.call);
    const { room: b } = await h.client.createRoom({ name: "b" }, bob.call);
    assert.ok(a && b);
    const parent = (await h.client.sendMessage({ roomId: a.id, text: "parent" }, alice.call)).message;
    assert.ok(parent);
    const req = (
      sender: User,
      roomId: string,
      clientMessageId: string | null,
      parentId: string | null = null,
      live: Promise<void> | undefined = undefined,
    ) =>
      ({
        sender: { userId: sender.userId, username: sender.username, sessionId: sender.sessionId },
        live,
        roomId,
        text: `from ${sender.username}`,
        clientMessageId,
        parentId,
        mentions: [],
      }) satisfies SendRequest;

    const outcomes = await writeMessages(deps, [
      req(alice, a.id, "k1"),
      req(outsider, a.id, null),
      req(alice, a.id, "k1"),
      req(bob, a.id, null, b.id),
      req(bob, b.id, "k1"),
      req(bob, a.id, "k2", parent.id),
      req(alice, "5a7f4c1e-2b9d-4e8a-9c3f-1d2e3f4a5b6c", null),
      // Sessions still being checked when the batch starts: one live, one found ended, whose
      // retry of a stored key must not be answered with the stored message either.
      req(bob, a.id, "k3", null, new Promise((resolve) => setTimeout(resolve, 20))),
      req(alice, a.id, "k1", null, Promise.reject(unauthenticated("the session has ended; sign in again"))),
    ]);
    const first = fulfilled(outcomes[0]);
    assert.equal(first.row.seq, 2n);
    assert.equal(reasonOf(outcomes[1] as PromiseSettledResult<unknown>), "NOT_A_MEMBER");
    assert.deepEqual(fulfilled(outcomes[2]), first, "the retry in the same batch gets the same message");
    assert.equal(reasonOf(outcomes[3] as PromiseSettledResult<unknown>), "PARENT_NOT_FOUND");
    assert.equal(fulfilled(outcomes[4]).row.seq, 1n, "the key is per room and sender");
    const reply = fulfilled(outcomes[5]);
    assert.equal(reply.row.seq, 3n, "no seq was taken by the failures");
    assert.equal(reply.row.parentId, parent.id);
    assert.equal(reasonOf(outcomes[6] as PromiseSettledResult<unknown>), "ROOM_NOT_FOUND");
    assert.equal(fulfilled(outcomes[7]).row.seq, 4n, "stored once its session proved live");
    assert.equal(reasonOf(outcomes[8] as PromiseSettledResult<unknown>), "UNAUTHENTICATED");

    // A later batch: the key is found in the database.
    const [again] = await writeMessages(deps, [req(alice, a.id, "k1")]);
    assert.equal(fulfilled(again).row.id, first.row.id);
    const { room } = await h.client.getRoom({ roomId: a.id }, alice.call);
    assert.equal(room?.headSeq, 4n);
    assert.equal(room?.headEventSeq, 4n);
    await deps.events.close();
    users.close();
  });
});

describe("a batch's checks", () => {
  test("probe the idempotency and membership indexes, whatever plan PostgreSQL cached while the tables were small", async () => {
    const user = await h.signIn();
    const peer = await h.signIn();
    const { room } = await h.client.createRoom({ name: "plans" }, user.call);
    assert.ok(room);
    const { room: direct } = await h.client.openDirectRoom({ userId: peer.userId }, user.call);
    assert.ok(direct);
    const keys = Array.from({ length: 100 }, (_, i) => ({
      roomId: room.id,
      senderId: user.userId,
      clientMessageId: `k-${i}`,
    }));
    const pairs = [
      { roomId: room.id, userId: user.userId },
      { roomId: direct.id, userId: user.userId },
    ];
    // The send path's own kind of transaction: pg_stat_xact_* counts this transaction's scans.
    await pipelinedTransaction(h.infra.sql, async (tx) => {
      // Past the first five executions PostgreSQL may settle on a generic plan and keep it.
      for (let i = 0; i < 8; i++) {
        await findClientKeys(tx, keys);
        await findMemberships(tx, pairs);
      }
      const scans = async () => {
        const rows = await tx<{ relname: string; seq_scan: string }[]>`
          select relname, seq_scan::text from pg_stat_xact_user_tables
          where relname in ('messages', 'room_members', 'rooms', 'known_users')`;
        return Object.fromEntries(rows.map((r) => [r.relname, Number(r.seq_scan)]));
      };
      const before = await scans();
      assert.deepEqual(await findClientKeys(tx, keys), []);
      assert.equal((await findMemberships(tx, pairs)).size, 2);
      assert.deepEqual(await scans(), before, "no sequential scan of messages, room_members, rooms or known_users");
    });
  });
});

describe("SendMessages (the edge's batched sends)", () => {
  test("one call answers each item on its own: sent, retried, unauthenticated, ended session, outsider, invalid", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const ended = await h.signIn();
    const { room } = await h.client.createRoom({ name: "batched", memberIds: [bob.userId, ended.userId] }, alice.call);
    assert.ok(room);
    await h.infra.redis.del(sessionKey(h.config.REDIS_KEY_PREFIX, ended.sessionId));
    const outsider = await h.signIn();
    const send = (user: User | string, text: string, clientMessageId = "") => ({
      accessToken: typeof user === "string" ? user : user.token,
      request: { roomId: room.id, text, clientMessageId },
    });
    const { results } = await h.client.sendMessages(
      {
        items: [
          send(alice, "one", "k1"),
          send(bob, "two"),
          send(alice, "one again", "k1"),
          send("not-a-token", "forged"),
          send(ended, "after logout"),
          send(outsider, "let me in"),
          send(bob, "x".repeat(4001)),
          send(bob, "three"),
          // PostgreSQL text cannot hold U+0000: refused alone, not failing the batch's transaction.
          send(bob, "nul \u0000 inside"),
          send(alice, "nul in the key", "k\u0000"),
          send(bob, "four"),
        ],
      },
      await h.serviceCall(),
    );
    const outcome = (i: number) => results[i]?.outcome;
    const sent = (i: number) => {
      const o = outcome(i);
      assert.equal(o?.case, "message", `item ${i}: ${o?.case === "error" ? o.value.message : "no outcome"}`);
      return o.value as Message;
    };
    const failed = (i: number) => {
      const o = outcome(i);
      assert.equal(o?.case, "error", `item ${i} should have failed`);
      const status = o.value as Status;
      return { code: status.code, reason: status.info?.reason };
    };
    assert.equal(results.length, 11);
    assert.equal(sent(0).text, "one");
    assert.equal(sent(1).senderId, bob.userId);
    assert.deepEqual(sent(2), sent(0), "a retry in the same call gets the stored message");
    assert.deepEqual(failed(3), { code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
    assert.deepEqual(failed(4), { code: Code.Unauthenticated, reason: "UNAUTHENTICATED" });
    assert.deepEqual(failed(5), { code: Code.PermissionDenied, reason: "NOT_A_MEMBER" });
    assert.equal(failed(6).code, Code.InvalidArgument);
    assert.deepEqual(failed(8), { code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
    assert.deepEqual(failed(9), { code: Code.InvalidArgument, reason: "INVALID_ARGUMENT" });
    const nul = outcome(8);
    assert.equal(nul?.case === "error" && nul.value.message, "text: must not contain NUL characters");
    assert.deepEqual(
      [sent(0).seq, sent(1).seq, sent(7).seq, sent(10).seq],
      [1n, 2n, 3n, 4n],
      "only the accepted sends took seqs, gaplessly",
    );
  });

  test("a call as large as the rules allow is taken, not refused for its size", async () => {
    const alice = await h.signIn();
    const { room } = await h.client.createRoom({ name: "long texts" }, alice.call);
    assert.ok(room);
    // 300 items of 16 KB of UTF-8 each: past grpc-js's default 4 MiB.
    const text = "\u{1F600}".repeat(4000);
    const items = Array.from({ length: 300 }, () => ({ accessToken: alice.token, request: { roomId: room.id, text } }));
    const { results } = await h.client.sendMessages({ items }, await h.serviceCall());
    assert.deepEqual(
      results.map((r) => (r.outcome.case === "message" ? r.outcome.value.seq : r.outcome.case)),
      Array.from({ length: 300 }, (_, i) => BigInt(i + 1)),
    );
  });

  test("SendMessages takes the edge's service token, not a user's", async () => {
    const alice = await h.signIn();
    const { room } = await h.client.createRoom({ name: "not yours" }, alice.call);
    assert.ok(room);
    const items = [{ accessToken: alice.token, request: { roomId: room.id, text: "hi" } }];
    await rejectsWith(h.client.sendMessages({ items }, alice.call), Code.Unauthenticated, "UNAUTHENTICATED");
    await rejectsWith(
      h.client.sendMessages({ items: [] }, await h.serviceCall()),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    const { messages } = await h.client.listMessages({ roomId: room.id }, alice.call);
    assert.equal(messages.length, 0);
  });
});

describe("send batcher", () => {
  test("groups what arrives together, caps batch size and batches in flight, and fails a batch alone", async () => {
    const batches: number[][] = [];
    let inFlight = 0;
    let maxSeen = 0;
    const release: (() => void)[] = [];
    const batcher = createBatcher<number, number>({
      maxBatch: 4,
      maxInFlight: 2,
      lingerMs: 0,
      async write(batch) {
        batches.push(batch);
        inFlight++;
        maxSeen = Math.max(maxSeen, inFlight);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
        if (batch.includes(13)) throw new Error("boom");
        return batch.map((n) =>
          n % 5 === 0 ? { status: "rejected", reason: new Error(`bad ${n}`) } : { status: "fulfilled", value: n * 10 },
        );
      },
    });
    const results = Array.from({ length: 14 }, (_, i) =>
      batcher.submit(i).then(
        (v) => `ok ${v}`,
        (e: Error) => e.message,
      ),
    );
    // Two batches of four start at once; the rest wait.
    await waitUntil(() => batches.length === 2, 5_000, "two batches");
    assert.deepEqual(batches, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    assert.equal(batcher.queued, 6);
    while (batches.length < 4 || release.length > 0) {
      if (release.length > 0) release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(batches.slice(2), [
      [8, 9, 10, 11],
      [12, 13],
    ]);
    assert.equal(maxSeen, 2);
    assert.deepEqual(await Promise.all(results), [
      "bad 0",
      "ok 10",
      "ok 20",
      "ok 30",
      "ok 40",
      "bad 5",
      "ok 60",
      "ok 70",
      "ok 80",
      "ok 90",
      "bad 10",
      "ok 110",
      "boom",
      "boom",
    ]);
    await batcher.close();
    await assert.rejects(batcher.submit(99), /closed/);
  });
});
