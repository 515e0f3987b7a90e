import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { type Message, MessageSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { connectionLost, ParleyError } from "./errors.js";
import { createOutbox, type PendingSend } from "./outbox.js";
import { createMemoryOutboxStore, type StoredSend } from "./outbox-store.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

function harness(answer: (send: StoredSend, attempt: number) => Promise<Message>) {
  const attempts: string[] = [];
  const delivered: string[] = [];
  let pending: readonly PendingSend[] = [];
  let online = true;
  const store = createMemoryOutboxStore();
  const outbox = createOutbox({
    store,
    backoff: { baseMs: 1, maxMs: 2 },
    canSend: () => online,
    transmit(send) {
      attempts.push(send.text);
      return answer(send, attempts.filter((t) => t === send.text).length);
    },
    delivered: (send) => delivered.push(send.text),
    onChange: (p) => {
      pending = p;
    },
  });
  return {
    outbox,
    store,
    attempts,
    delivered,
    pending: () => pending,
    setOnline(on: boolean) {
      online = on;
      if (on) outbox.kick();
    },
  };
}

const stored = (send: StoredSend) => Promise.resolve(create(MessageSchema, { text: send.text }));

test("sends to one room go one at a time, in order, and a lost one is retried first with the same id", async () => {
  let lose = true;
  const ids: string[] = [];
  const h: ReturnType<typeof harness> = harness(async (send) => {
    ids.push(send.clientMessageId);
    if (send.text === "a" && lose) {
      lose = false;
      // The socket closed: it is not open again until the next one is ready.
      h.setOnline(false);
      throw connectionLost();
    }
    return stored(send);
  });
  h.setOnline(false);
  const a = await h.outbox.add({ roomId: "r", text: "a" });
  await h.outbox.add({ roomId: "r", text: "b" });
  assert.deepEqual(h.attempts, [], "nothing goes out while offline");
  h.setOnline(true);
  await tick();
  // "a" was lost with the connection: it waits for the next one, and "b" waits behind it.
  assert.deepEqual(h.attempts, ["a"]);
  h.setOnline(true);
  await tick();
  assert.deepEqual(h.attempts, ["a", "a", "b"]);
  assert.deepEqual(h.delivered, ["a", "b"]);
  assert.equal(ids[0], a.clientMessageId);
  assert.equal(ids[1], a.clientMessageId, "the retry carries the same clientMessageId");
  assert.deepEqual(await h.store.load(), [], "nothing left stored");
});

test("a permanent refusal marks the send failed and lets the next one go; unavailable is retried", async () => {
  const h = harness(async (send, attempt) => {
    if (send.text === "bad") throw new ParleyError("invalid_argument", "too long", "");
    if (send.text === "flaky" && attempt === 1) throw new ParleyError("unavailable", "try again", "");
    return stored(send);
  });
  const bad = await h.outbox.add({ roomId: "r", text: "bad" });
  await h.outbox.add({ roomId: "r", text: "flaky" });
  await tick();
  await tick();
  assert.deepEqual(h.delivered, ["flaky"]);
  assert.deepEqual(
    h.pending().map((p) => [p.clientMessageId, p.status, p.failure?.code]),
    [[bad.clientMessageId, "failed", "invalid_argument"]],
  );
  const kept = await h.store.load();
  assert.equal(kept[0]?.failure?.code, "invalid_argument", "the failure is stored, so a reload still shows it");
  await h.outbox.discard(bad.clientMessageId);
  assert.deepEqual(h.pending(), []);
});

test("what an earlier page left unsent is loaded and sent in its order", async () => {
  const h = harness(stored);
  h.setOnline(false);
  await h.outbox.add({ roomId: "r", text: "first" });
  await h.outbox.add({ roomId: "r", text: "second" });
  const reloaded = harness(stored);
  for (const s of await h.store.load()) await reloaded.store.put(s);
  await reloaded.outbox.load();
  await tick();
  assert.deepEqual(reloaded.delivered, ["first", "second"]);
});

test("a send refused for the rate waits the retryAfterSeconds the refusal names, not a fixed second", async () => {
  const times: number[] = [];
  const started = Date.now();
  const h = harness(async (send, attempt) => {
    times.push(Date.now() - started);
    if (attempt === 1) throw new ParleyError("resource_exhausted", "slow down", "RATE_LIMITED", 2);
    return stored(send);
  });
  await h.outbox.add({ roomId: "r", text: "a" });
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual(h.attempts, ["a"], "not sent again within the 2 s asked for");
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(h.attempts, ["a", "a"]);
  assert.deepEqual(h.delivered, ["a"]);
  assert.ok((times[1] ?? 0) - (times[0] ?? 0) >= 2_000, JSON.stringify(times));
  h.outbox.close();
});

test("a send to a read-only direct room (USER_DEACTIVATED) fails at once, without retries", async () => {
  const h = harness(async () => {
    throw new ParleyError("failed_precondition", "this conversation is read-only", "USER_DEACTIVATED");
  });
  await h.outbox.add({ roomId: "r", text: "hello?" });
  await tick();
  assert.deepEqual(h.attempts, ["hello?"]);
  assert.deepEqual(
    h.pending().map((p) => [p.status, p.failure?.reason]),
    [["failed", "USER_DEACTIVATED"]],
  );
});
