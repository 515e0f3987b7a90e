/**
 * Per-user budgets (domain/action-budgets.ts): each action's budget is the
 * user's whichever way the calls come (SendMessage, the edge's SendMessages,
 * another chat-svc instance), refusals say when to come back, and one batch
 * of sends is charged in one Redis call. Budgets refill at 1 a second here,
 * so a test that needs one empty spends it and checks at once, within tries.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { errorReason, fromItemStatus } from "@parley/shared/errors.js";
import type { Redis } from "@parley/shared/redis.js";
import { deleteRedisPrefix, randomName } from "@parley/shared/testing.js";
import { createActionBudgets } from "../src/domain/action-budgets.js";
import { createBudgetStore } from "../src/storage/budget-store.js";
import { type Harness, startHarness } from "./harness.js";

const BURSTS = { send: 4, edit: 2, react: 3, read: 2 };

let h: Harness;
before(async () => {
  h = await startHarness(
    {},
    {
      USER_SEND_RATE: "1",
      USER_SEND_BURST: String(BURSTS.send),
      USER_EDIT_RATE: "1",
      USER_EDIT_BURST: String(BURSTS.edit),
      USER_REACT_RATE: "1",
      USER_REACT_BURST: String(BURSTS.react),
      USER_READ_RATE: "1",
      USER_READ_BURST: String(BURSTS.read),
    },
  );
});
after(async () => {
  await h?.close();
});

/** RATE_LIMITED with a whole number of seconds to wait, at least one. */
function assertRateLimited(err: ConnectError, noun: RegExp): void {
  assert.equal(Code[err.code], Code[Code.ResourceExhausted], err.message);
  assert.equal(errorReason(err), "RATE_LIMITED");
  assert.match(err.rawMessage, noun);
  assert.match(err.rawMessage, /try again in \d+ s$/);
  const seconds = err.findDetails(ErrorInfoSchema)[0]?.metadata.retryAfterSeconds;
  assert.match(seconds ?? "", /^[1-9]\d*$/, "retryAfterSeconds is a whole number of seconds, at least 1");
}

/**
 * Runs `attempt` until it is refused (a token may refill between tries);
 * returns the refusal and how many tries succeeded before it.
 */
async function refusal(attempt: () => Promise<unknown>): Promise<{ err: ConnectError; succeeded: number }> {
  for (let succeeded = 0; succeeded < 3; succeeded++) {
    try {
      await attempt();
    } catch (err) {
      return { err: ConnectError.from(err), succeeded };
    }
  }
  assert.fail("the budget never ran out");
}

describe("send budget", () => {
  test("SendMessage, another instance and the edge's SendMessages share one budget per user; the refused store nothing", async () => {
    const other = await h.startInstance();
    const alice = await h.signIn();
    const bob = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    await h.client.sendMessage({ roomId, text: "one" }, alice.call);
    await h.client.sendMessage({ roomId, text: "two" }, alice.call);
    // The budget lives in Redis, not in a process.
    await other.client.sendMessage({ roomId, text: "three" }, alice.call);

    // One edge batch: four of alice's sends (one left in her burst) and one of bob's.
    const items = [..."abcd"].map((text) => ({ user: alice, text })).concat([{ user: bob, text: "bob's" }]);
    const { results } = await h.client.sendMessages(
      { items: items.map(({ user, text }) => ({ accessToken: user.token, request: { roomId, text } })) },
      await h.serviceCall(),
    );
    const outcomes = results.map((r) => (r.outcome.case === "error" ? fromItemStatus(r.outcome.value) : "stored"));
    assert.equal(outcomes[4], "stored", "bob's budget is his own");
    const alices = outcomes.slice(0, 4);
    const batchStored = alices.filter((o) => o === "stored").length;
    const summary = alices.map((o) => (o === "stored" ? o : errorReason(o))).join(", ");
    assert.ok(batchStored >= 1 && batchStored < 4, `alice's burst runs out in the batch: ${summary}`);
    assert.ok(
      alices.every((o, i) => (i < batchStored ? o === "stored" : o !== "stored")),
      "her earliest sends take what is left",
    );
    for (const err of alices.slice(batchStored)) assertRateLimited(err as ConnectError, /^too many messages/);

    const { err, succeeded } = await refusal(() => h.client.sendMessage({ roomId, text: "more" }, alice.call));
    assertRateLimited(err, /^too many messages/);
    const { messages } = await h.client.listMessages({ roomId, limit: 100 }, bob.call);
    assert.equal(
      messages.filter((m) => m.senderId === alice.userId).length,
      3 + batchStored + succeeded,
      "exactly the accepted sends are stored",
    );
    await other.close();
  });

  test("a batch of sends is charged in one Redis call, whoever sent them", async () => {
    let calls = 0;
    // The real client, counting its script calls.
    const counted = new Proxy(h.infra.redis, {
      get(target, property, receiver) {
        if (property !== "eval") return Reflect.get(target, property, receiver);
        return (...args: Parameters<Redis["eval"]>) => {
          calls++;
          return target.eval(...args);
        };
      },
    });
    const prefix = `${randomName("budget_test")}:`;
    const budgets = createActionBudgets({
      redis: counted,
      prefix,
      settings: {
        send: { rate: 1, burst: 3 },
        edit: { rate: 1, burst: 1 },
        react: { rate: 1, burst: 1 },
        read: { rate: 1, burst: 1 },
      },
    });
    const users = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    try {
      // Five sends per user in one turn, as a SendMessages call's items enter.
      const outcomes = await Promise.allSettled(
        users.flatMap((u) => Array.from({ length: 5 }, () => budgets.charge("send", u))),
      );
      assert.equal(calls, 1, "one script call for 500 charges");
      for (let i = 0; i < users.length; i++) {
        assert.deepEqual(
          outcomes.slice(i * 5, i * 5 + 5).map((o) => o.status),
          ["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"],
          "each user's first three sends fit the burst, in the order they came",
        );
      }
    } finally {
      await deleteRedisPrefix(h.infra.redis, prefix);
    }
  });
});

describe("budget store", () => {
  test("a bucket holds its burst, refills at its rate and says how long until the next token", async () => {
    const prefix = `${randomName("budget_test")}:`;
    const store = createBudgetStore({ redis: h.infra.redis, prefix });
    const take = (wanted: number) => store.take([{ bucket: "b", ratePerSecond: 10, burst: 3, wanted }]);
    try {
      assert.deepEqual(await take(2), [{ granted: 2, retryAfterMs: 0 }]);
      const [short] = await take(2);
      assert.equal(short?.granted, 1, "the last token of the burst");
      assert.ok(short && short.retryAfterMs > 0 && short.retryAfterMs <= 100, `next in ${short?.retryAfterMs} ms`);
      const [none] = await take(1);
      assert.equal(none?.granted, 0);
      await new Promise((r) => setTimeout(r, (none?.retryAfterMs ?? 100) + 20));
      assert.equal((await take(1))[0]?.granted, 1, "one token back after the wait it named");
      const ttl = await h.infra.redis.pttl(`${prefix}budget:b`);
      assert.ok(ttl > 0 && ttl <= 300, `the key lives until the bucket is full again (${ttl} ms)`);
    } finally {
      await deleteRedisPrefix(h.infra.redis, prefix);
    }
  });
});

describe("edit, reaction and read marker budgets", () => {
  test("edits and deletions share the edit budget", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    const sent = [];
    for (const text of ["a", "b", "c"]) sent.push((await h.client.sendMessage({ roomId, text }, alice.call)).message);
    const [a, b, c] = sent;
    assert.ok(a && b && c);
    await h.client.editMessage({ roomId, messageId: a.id, text: "a!" }, alice.call);
    await h.client.deleteMessage({ roomId, messageId: b.id }, alice.call);
    let n = 0;
    const edit = await refusal(() => h.client.editMessage({ roomId, messageId: a.id, text: `a${++n}` }, alice.call));
    assertRateLimited(edit.err, /^too many edits and deletions/);
    const deletion = await refusal(() => h.client.deleteMessage({ roomId, messageId: c.id }, alice.call));
    assertRateLimited(deletion.err, /^too many edits and deletions/);
  });

  test("adding and removing reactions share the reaction budget; the refused change nothing", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    const { message } = await h.client.sendMessage({ roomId, text: "react" }, alice.call);
    assert.ok(message);
    const ids = { roomId, messageId: message.id };
    await h.client.addReaction({ ...ids, emoji: "👍" }, alice.call);
    await h.client.removeReaction({ ...ids, emoji: "👍" }, alice.call);
    await h.client.addReaction({ ...ids, emoji: "🎉" }, alice.call);
    const added = await refusal(() => h.client.addReaction({ ...ids, emoji: "👀" }, alice.call));
    assertRateLimited(added.err, /^too many reaction changes/);
    const removed = await refusal(() => h.client.removeReaction({ ...ids, emoji: "🎉" }, alice.call));
    assertRateLimited(removed.err, /^too many reaction changes/);
    const [now] = (await h.client.listMessages({ roomId }, alice.call)).messages;
    const expected = [...(removed.succeeded > 0 ? [] : ["🎉"]), ...(added.succeeded > 0 ? ["👀"] : [])];
    assert.deepEqual(
      now?.reactions.map((r) => r.emoji),
      expected,
      "only the accepted changes were made",
    );
  });

  test("read markers have their own budget, apart from sends", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    await h.client.sendMessage({ roomId, text: "read me" }, alice.call);
    await h.client.markRead({ roomId, seq: 1n }, alice.call);
    await h.client.markRead({ roomId, seq: 1n }, alice.call);
    const { err } = await refusal(() => h.client.markRead({ roomId, seq: 1n }, alice.call));
    assertRateLimited(err, /^too many read markers/);
    // Her send budget is untouched by it.
    await h.client.sendMessage({ roomId, text: "still sending" }, alice.call);
  });
});
