import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import { type Harness, rejectsWith, startHarness, type User, waitFor } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

async function rowCount(roomId: string): Promise<number> {
  const [row] = await h.infra.sql<{ n: number }[]>`select count(*)::int as n from messages where room_id = ${roomId}`;
  return row?.n ?? -1;
}

/**
 * Sends a marker message and waits for its message.sent event. The relay
 * publishes in outbox order on one channel and the queue is FIFO, so once the
 * marker's event is in, every event committed before it is too.
 */
async function drainEvents(roomId: string, sender: User): Promise<void> {
  const { message } = await h.client.sendMessage({ roomId, text: "marker" }, sender.call);
  await waitFor(() => h.sentEvents.find((e) => e.messageId === message?.id), 10_000, "marker event");
}

function seqs(messages: Message[]): number[] {
  return messages.map((m) => Number(m.seq));
}

describe("messages", () => {
  test("send then list: ascending, gapless seqs from 1, with the sender's identity", async () => {
    const alice = await h.signIn("alice");
    const bob = await h.signIn("bob");
    const roomId = await h.roomWith(alice, bob);
    const texts = ["one", "two", "three", "four"];
    const sent: Message[] = [];
    for (const [i, text] of texts.entries()) {
      const from = i % 2 === 0 ? alice : bob;
      const { message } = await h.client.sendMessage({ roomId, text }, from.call);
      assert.ok(message);
      assert.equal(message.seq, BigInt(i + 1));
      assert.equal(message.senderId, from.userId);
      assert.equal(message.senderUsername, from.username);
      assert.equal(message.roomId, roomId);
      assert.equal(message.clientMessageId, "");
      assert.ok(message.createdAt && Math.abs(timestampDate(message.createdAt).getTime() - Date.now()) < 60_000);
      sent.push(message);
    }
    const page = await h.client.listMessages({ roomId }, bob.call);
    assert.deepEqual(seqs(page.messages), [1, 2, 3, 4]);
    assert.deepEqual(
      page.messages.map((m) => m.text),
      texts,
    );
    assert.deepEqual(page.messages, sent, "listed messages equal the sent ones");
    assert.equal(page.headSeq, 4n);
    assert.equal(page.hasMore, false);
    const { room } = await h.client.getRoom({ roomId }, alice.call);
    assert.equal(room?.headSeq, 4n);
  });

  test("50 concurrent sends to one room get exactly seqs 1..50", async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => h.signIn()));
    const [owner, ...others] = users as [User, ...User[]];
    const roomId = await h.roomWith(owner, ...others);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.client.sendMessage({ roomId, text: `m${i}` }, (users[i % users.length] as User).call),
      ),
    );
    const got = results.map((r) => Number(r.message?.seq)).sort((a, b) => a - b);
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const page = await h.client.listMessages({ roomId, limit: 200 }, owner.call);
    assert.deepEqual(
      seqs(page.messages),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.equal(page.headSeq, 50n);
    // Each seq carries the message that was answered with it.
    const byId = new Map(results.map((r) => [r.message?.id, r.message?.seq]));
    for (const m of page.messages) assert.equal(byId.get(m.id), m.seq);
  });

  test("a retried send with the same clientMessageId returns the first message and emits nothing new", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    const first = await h.client.sendMessage({ roomId, text: "hello", clientMessageId: "c-1" }, alice.call);
    const retry = await h.client.sendMessage({ roomId, text: "hello", clientMessageId: "c-1" }, alice.call);
    assert.ok(first.message);
    assert.deepEqual(retry.message, first.message);
    assert.equal(first.message.clientMessageId, "c-1");

    // The key is per sender: bob's "c-1" is a different message.
    const bobs = await h.client.sendMessage({ roomId, text: "hello", clientMessageId: "c-1" }, bob.call);
    assert.equal(bobs.message?.seq, 2n);

    // Concurrent retries of a new message: one wins, all get the winner.
    const racers = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.client.sendMessage({ roomId, text: "again", clientMessageId: "c-2" }, alice.call),
      ),
    );
    const ids = new Set(racers.map((r) => r.message?.id));
    assert.equal(ids.size, 1, "every racer got the same message");
    assert.equal(racers[0]?.message?.seq, 3n, "no seq was burnt by the losers");

    const next = await h.client.sendMessage({ roomId, text: "after" }, alice.call);
    assert.equal(next.message?.seq, 4n, "seqs stay gapless after the race");
    assert.equal(await rowCount(roomId), 4);

    await drainEvents(roomId, bob);
    const events = h.sentEvents.filter((e) => e.roomId === roomId);
    assert.deepEqual(
      events.map((e) => Number(e.seq)),
      [1, 2, 3, 4, 5],
      "one message.sent per stored message, none for retries",
    );
  });

  test("message.sent reaches RabbitMQ with the room, the message and the membership version it was sent under", async () => {
    const alice = await h.signIn("alice");
    const bob = await h.signIn("bob");
    const carol = await h.signIn("carol");
    const { room } = await h.client.createRoom({ name: "team", memberIds: [bob.userId, carol.userId] }, alice.call);
    assert.ok(room);
    const { message } = await h.client.sendMessage({ roomId: room.id, text: "ship it" }, bob.call);
    assert.ok(message);
    const event = await waitFor(() => h.sentEvents.find((e) => e.messageId === message.id), 10_000, "message.sent");
    assert.equal(event.roomId, room.id);
    assert.equal(event.roomName, "team");
    assert.equal(event.seq, 1n);
    assert.equal(event.senderId, bob.userId);
    assert.equal(event.senderUsername, "bob");
    assert.equal(event.text, "ship it");
    assert.equal(event.membersVersion, 1n);
    assert.equal(event.direct, false);
  });

  test("paging: newest page, backward with beforeSeq, forward with afterSeq, hasMore in the paging direction", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    for (let i = 1; i <= 12; i++) await h.client.sendMessage({ roomId, text: `m${i}` }, alice.call);
    const list = (req: { beforeSeq?: bigint; afterSeq?: bigint; limit?: number }) =>
      h.client.listMessages({ roomId, ...req }, alice.call);

    let page = await list({ limit: 5 });
    assert.deepEqual(seqs(page.messages), [8, 9, 10, 11, 12]);
    assert.equal(page.hasMore, true);
    assert.equal(page.headSeq, 12n);

    page = await list({ limit: 5, beforeSeq: 8n });
    assert.deepEqual(seqs(page.messages), [3, 4, 5, 6, 7]);
    assert.equal(page.hasMore, true);
    page = await list({ limit: 5, beforeSeq: 3n });
    assert.deepEqual(seqs(page.messages), [1, 2]);
    assert.equal(page.hasMore, false);
    page = await list({ limit: 2, beforeSeq: 3n });
    assert.deepEqual(seqs(page.messages), [1, 2]);
    assert.equal(page.hasMore, false, "exactly the rest is not more");

    // afterSeq 0 is a cursor too: a room read from its first message on.
    page = await list({ limit: 5, afterSeq: 0n });
    assert.deepEqual(seqs(page.messages), [1, 2, 3, 4, 5]);
    assert.equal(page.hasMore, true);
    page = await list({ limit: 5, afterSeq: 2n });
    assert.deepEqual(seqs(page.messages), [3, 4, 5, 6, 7]);
    assert.equal(page.hasMore, true);
    page = await list({ limit: 5, afterSeq: 7n });
    assert.deepEqual(seqs(page.messages), [8, 9, 10, 11, 12]);
    assert.equal(page.hasMore, false);
    page = await list({ afterSeq: 12n });
    assert.deepEqual(seqs(page.messages), []);
    assert.equal(page.hasMore, false);
    assert.equal(page.headSeq, 12n);

    // Both bounds: a window, oldest first.
    page = await list({ limit: 3, afterSeq: 4n, beforeSeq: 9n });
    assert.deepEqual(seqs(page.messages), [5, 6, 7]);
    assert.equal(page.hasMore, true);

    // limit 0 means 50.
    for (let i = 13; i <= 60; i++) await h.client.sendMessage({ roomId, text: `m${i}` }, alice.call);
    page = await list({});
    assert.deepEqual(
      seqs(page.messages),
      Array.from({ length: 50 }, (_, i) => i + 11),
    );
    assert.equal(page.hasMore, true);
  });

  test("invalid sends and listings are refused with InvalidArgument", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => h.client.sendMessage({ roomId: "nope", text: "x" }, alice.call), /^room_id:/],
      [() => h.client.sendMessage({ roomId, text: "" }, alice.call), /^text:/],
      [() => h.client.sendMessage({ roomId, text: " \n\t " }, alice.call), /^text: must not be blank/],
      [() => h.client.sendMessage({ roomId, text: "x".repeat(4001) }, alice.call), /^text:/],
      [
        () => h.client.sendMessage({ roomId, text: "x", clientMessageId: "c".repeat(65) }, alice.call),
        /^client_message_id:/,
      ],
      [() => h.client.listMessages({ roomId, limit: 500 }, alice.call), /^limit:/],
      [() => h.client.listMessages({ roomId, beforeSeq: -1n }, alice.call), /^before_seq:/],
      [() => h.client.listMessages({ roomId: "x" }, alice.call), /^room_id:/],
      [() => h.client.sendMessage({ roomId, text: "a\u0000b" }, alice.call), /^text: must not contain NUL characters$/],
      [
        () => h.client.sendMessage({ roomId, text: "x", clientMessageId: "\u0000" }, alice.call),
        /^client_message_id: must not contain NUL characters$/,
      ],
    ];
    for (const [call, field] of bad) {
      const err = await rejectsWith(call(), Code.InvalidArgument, "INVALID_ARGUMENT");
      assert.match(err.rawMessage, field);
    }
    const { message } = await h.client.sendMessage({ roomId, text: "x".repeat(4000) }, alice.call);
    assert.equal(message?.seq, 1n, "the longest allowed text is accepted, and no refused send took a seq");
    assert.equal(await rowCount(roomId), 1);
  });
});
