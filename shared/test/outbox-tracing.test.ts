/**
 * The outbox with tracing on (an SDK in this process, spans kept in memory):
 * an event stores the trace context of the work that wrote it, and the relay
 * publishes it, so the consumer continues that trace; rows written by a
 * statement of the caller's carry the caller's context.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import type { ConsumeMessage } from "amqplib";
import { drizzle } from "drizzle-orm/postgres-js";
import type { RecoveringChannelModel } from "../src/amqp.js";
import type { Logger } from "../src/logger.js";
import { enqueueEvent, insertOutboxRows, OUTBOX_NOTIFY_CHANNEL, outboxEvent } from "../src/outbox.js";
import { startOutboxRelay } from "../src/outbox-relay.js";
import type { Sql } from "../src/postgres.js";
import { type TestTopology, waitFor } from "../src/testing.js";
import { TRACING_STATE, type TracingState, tracer } from "../src/trace-context.js";
import { type OutboxHarness, startOutboxHarness } from "./outbox-harness.js";

const spans = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
provider.register();
// What the preload (tracing/sdk.ts) leaves behind; set before the relay and the pool are made.
(globalThis as { [TRACING_STATE]?: TracingState })[TRACING_STATE] = { shutdown: () => provider.shutdown() };

let h: OutboxHarness;
let logger: Logger;
let sql: Sql;
let topo: TestTopology;
let amqp: RecoveringChannelModel;
let received: ConsumeMessage[];

before(async () => {
  h = await startOutboxHarness("outbox-tracing-test");
  ({ logger, sql, topo, amqp, received } = h);
});

after(async () => {
  await h?.close();
  await provider.shutdown();
});

test("an event carries the context of the outbox write, inside the transaction inside the caller's span", async () => {
  const relay = startOutboxRelay({ sql, amqp, topology: topo.topology, logger, pollMs: 200 });
  try {
    const { id, callerTraceId } = await tracer.startActiveSpan("caller", async (caller) => {
      const id = await drizzle(sql).transaction((tx) =>
        enqueueEvent(tx, "user.registered", { userId: "u-1", email: "a@example.test", username: "a" }),
      );
      caller.end();
      return { id, callerTraceId: caller.spanContext().traceId };
    });
    const msg = await waitFor(() => received.find((m) => m.properties.messageId === id));
    const finished = spans.getFinishedSpans();
    const enqueue = finished.find((s) => s.name === "outbox enqueue user.registered");
    const transaction = finished.find((s) => s.name === "postgresql transaction");
    const caller = finished.find((s) => s.name === "caller");
    assert.ok(enqueue && transaction && caller, finished.map((s) => s.name).join(", "));
    assert.equal(enqueue.parentSpanContext?.spanId, transaction.spanContext().spanId);
    assert.equal(transaction.parentSpanContext?.spanId, caller.spanContext().spanId);
    assert.equal(
      msg.properties.headers?.traceparent,
      `00-${callerTraceId}-${enqueue.spanContext().spanId}-01`,
      "the published event names the outbox write as its parent",
    );
  } finally {
    await relay.close();
  }
});

test("rows a caller's statement writes carry the context it runs in; outside any span, none", async () => {
  const events = [0, 1].map((i) =>
    outboxEvent("user.registered", { userId: `batched-${i}`, email: "c@example.test", username: "c" }),
  );
  const untraced = outboxEvent("user.registered", { userId: "untraced", email: "u@example.test", username: "u" });
  const relay = startOutboxRelay({ sql, amqp, topology: topo.topology, logger, pollMs: 200 });
  try {
    const batch = await tracer.startActiveSpan("batch", async (span) => {
      await sql.begin(
        (tx) => tx`with written as (${insertOutboxRows(tx, events)}) select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`,
      );
      span.end();
      return span.spanContext();
    });
    assert.equal(trace.getActiveSpan(), undefined);
    await sql.begin(
      (tx) => tx`with written as (${insertOutboxRows(tx, [untraced])}) select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`,
    );
    const published = await waitFor(() => {
      const found = [...events, untraced].map((e) => received.find((m) => m.properties.messageId === e.id));
      return found.every((m) => m !== undefined) ? found : undefined;
    });
    const [first, second, last] = published.map((m) => m?.properties.headers?.traceparent);
    // The statement ran in the transaction's span, the caller's child.
    const transaction = spans
      .getFinishedSpans()
      .find((s) => s.name === "postgresql transaction" && s.parentSpanContext?.spanId === batch.spanId);
    assert.ok(transaction);
    assert.equal(first, `00-${batch.traceId}-${transaction.spanContext().spanId}-01`);
    assert.equal(second, first);
    assert.equal(last, undefined);
  } finally {
    await relay.close();
  }
});
