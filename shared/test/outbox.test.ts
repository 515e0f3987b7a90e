/**
 * The outbox against real PostgreSQL and RabbitMQ: committed events are
 * published once with their delivery properties, rolled-back ones never, and
 * events written while no relay runs are published when one starts; a
 * relay stops at once when closed, whatever the broker is doing.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { UserRegisteredSchema } from "@parley/proto/events/v1/events_pb.js";
import type { ConsumeMessage } from "amqplib";
import { drizzle } from "drizzle-orm/postgres-js";
import { connectAmqp, type RecoveringChannelModel } from "../src/amqp.js";
import type { Logger } from "../src/logger.js";
import { enqueueEvent, insertOutboxRows, OUTBOX_NOTIFY_CHANNEL, outboxEvent } from "../src/outbox.js";
import { type OutboxRelay, startOutboxRelay } from "../src/outbox-relay.js";
import type { Sql } from "../src/postgres.js";
import { type TestTopology, waitFor } from "../src/testing.js";
import { type OutboxHarness, startOutboxHarness } from "./outbox-harness.js";

let h: OutboxHarness;
let logger: Logger;
let sql: Sql;
let topo: TestTopology;
let amqp: RecoveringChannelModel;
let received: ConsumeMessage[];

before(async () => {
  h = await startOutboxHarness("outbox-test");
  ({ logger, sql, topo, amqp, received } = h);
});

after(async () => {
  await h?.close();
});

const db = () => drizzle(sql);

async function withRelay<T>(fn: (relay: OutboxRelay) => Promise<T>): Promise<T> {
  const relay = startOutboxRelay({ sql, amqp, topology: topo.topology, logger, pollMs: 200 });
  try {
    return await fn(relay);
  } finally {
    await relay.close();
  }
}

test("a committed event is published once, with id, type and time, then removed", async () => {
  await withRelay(async (relay) => {
    const id = await db().transaction((tx) =>
      enqueueEvent(tx, "user.registered", { userId: "u-1", email: "a@example.test", username: "a" }),
    );
    const msg = await waitFor(() => received.find((m) => m.properties.messageId === id));
    assert.equal(msg.fields.routingKey, "user.registered");
    assert.equal(msg.properties.type, "parley.events.v1.UserRegistered");
    assert.equal(msg.properties.deliveryMode, 2);
    // Written in no trace (tracing is off here): no made-up trace context (outbox-tracing.test.ts has the rest).
    assert.equal(msg.properties.headers?.traceparent, undefined);
    assert.equal(fromBinary(UserRegisteredSchema, msg.content).email, "a@example.test");
    await relay.idle();
  });
  const [row] = await sql`select count(*)::int as n from outbox`;
  assert.equal(row?.n, 0);
});

test("a rolled-back transaction emits nothing", async () => {
  await withRelay(async () => {
    await assert.rejects(
      db().transaction(async (tx) => {
        await enqueueEvent(tx, "user.registered", { userId: "rolled-back", email: "x@example.test", username: "x" });
        throw new Error("abort");
      }),
      /abort/,
    );
    const marker = await db().transaction((tx) =>
      enqueueEvent(tx, "user.registered", { userId: "marker", email: "m@example.test", username: "m" }),
    );
    await waitFor(() => received.find((m) => m.properties.messageId === marker));
  });
  const ids = received.map((m) => fromBinary(UserRegisteredSchema, m.content).userId);
  assert.ok(!ids.includes("rolled-back"));
});

test("one relay publishes in commit order, also when positions gain a digit", async () => {
  const before = received.length;
  // Committed before the relay starts, so one batch holds positions on both sides of 9 → 10.
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) {
    ids.push(
      await db().transaction((tx) =>
        enqueueEvent(tx, "user.registered", { userId: `ordered-${i}`, email: "o@example.test", username: "o" }),
      ),
    );
  }
  const [span] = await sql<
    { low: string; high: string }[]
  >`select min(position)::text as low, max(position)::text as high from outbox`;
  assert.ok(span && span.low.length < span.high.length, `positions ${span?.low}..${span?.high} cross a digit`);
  await withRelay(async (relay) => {
    await waitFor(() => (received.length - before >= ids.length ? true : undefined));
    await relay.idle();
  });
  assert.deepEqual(
    received.slice(before).map((m) => String(m.properties.messageId)),
    ids,
  );
});

test("events committed while no relay runs are all published, once each, when relays start", async () => {
  const before = received.length;
  const ids = new Set<string>();
  for (let i = 0; i < 300; i++) {
    ids.add(
      await db().transaction((tx) =>
        enqueueEvent(tx, "user.registered", { userId: `bulk-${i}`, email: "b@example.test", username: "b" }),
      ),
    );
  }
  // Two relays compete for the same rows; SKIP LOCKED must keep each event to one publish.
  const relays = [0, 1].map(() => startOutboxRelay({ sql, amqp, topology: topo.topology, logger, batchSize: 50 }));
  try {
    await waitFor(() => (received.length - before >= ids.size ? true : undefined), 20_000);
    await Promise.all(relays.map((r) => r.idle()));
  } finally {
    await Promise.all(relays.map((r) => r.close()));
  }
  const published = received.slice(before).map((m) => String(m.properties.messageId));
  assert.equal(published.length, ids.size);
  assert.deepEqual(new Set(published), ids);
});

test("rows written in a statement of the caller's (as chat-svc's send batch does) are relayed like enqueueEvent's", async () => {
  const before = received.length;
  const events = [0, 1, 2].map((i) =>
    outboxEvent("user.registered", { userId: `batched-${i}`, email: "c@example.test", username: "c" }),
  );
  let marker = "";
  await withRelay(async (relay) => {
    // A postgres.js fragment inside a larger statement, notifying the relay at commit.
    await sql.begin(
      (tx) => tx`with written as (${insertOutboxRows(tx, events)}) select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`,
    );
    marker = await db().transaction((tx) =>
      enqueueEvent(tx, "user.registered", { userId: "after-batch", email: "m@example.test", username: "m" }),
    );
    await waitFor(() => received.find((m) => m.properties.messageId === marker));
    await relay.idle();
  });
  const published = received.slice(before);
  assert.deepEqual(
    published.map((m) => String(m.properties.messageId)),
    [...events.map((e) => e.id), marker],
    "in the order written, before the event enqueued after them",
  );
  for (const msg of published) {
    assert.equal(msg.fields.routingKey, "user.registered");
    assert.equal(msg.properties.type, "parley.events.v1.UserRegistered");
  }
  assert.deepEqual(
    published.map((m) => fromBinary(UserRegisteredSchema, m.content).userId),
    ["batched-0", "batched-1", "batched-2", "after-batch"],
  );
});

/** A relay whose broker is away: nothing listens on the port, so the connection retries for ever. */
async function withBrokerAway(confirmTimeoutMs: number | undefined, fn: (relay: OutboxRelay) => Promise<void>) {
  const away = await connectAmqp("amqp://guest:guest@127.0.0.1:1", topo.topology, logger);
  const relay = startOutboxRelay({ sql, amqp: away, topology: topo.topology, logger, confirmTimeoutMs });
  try {
    await fn(relay);
  } finally {
    await relay.close();
    await away.close().catch(() => {});
  }
}

async function timeToClose(relay: OutboxRelay): Promise<number> {
  const started = performance.now();
  await relay.close();
  return performance.now() - started;
}

test("close() does not wait for a channel from a broker that is away", async () => {
  await withBrokerAway(undefined, async (relay) => {
    // The relay is waiting for its channel (up to confirmTimeoutMs, 30 s).
    await new Promise((r) => setTimeout(r, 300));
    const ms = await timeToClose(relay);
    assert.ok(ms < 2_000, `close took ${Math.round(ms)} ms`);
  });
});

test("close() ends the relay's backoff instead of waiting it out", async () => {
  await withBrokerAway(10, async (relay) => {
    // Each channel open times out at once: after 2 s of failures the relay
    // sleeps its 5th backoff step, 1.6 s, from about 1.4 s on.
    await new Promise((r) => setTimeout(r, 2_000));
    const ms = await timeToClose(relay);
    assert.ok(ms < 500, `close took ${Math.round(ms)} ms`);
  });
});
