/**
 * Tracing across the whole system: the four components run as processes
 * exporting to an OTLP receiver in this process (OTLP/HTTP JSON). One
 * registration through the edge's REST API must be one trace: the edge's
 * HTTP request, its gRPC call, user-svc's transaction and outbox write, the
 * relay's publish, the mail worker's consumption of the event and its SMTP
 * send, each a descendant of the one before; and the worker's log lines
 * for that work carry the trace id. A WebSocket frame starts a trace of its
 * own, through chat-svc's transaction, its outbox and the relay. The bundles the image runs trace
 * the same way.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { buildAll } from "../../scripts/build.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.js";
import { type RunningSystem, startSystem, waitUntil } from "../support/system.js";
import { api, signUp } from "../support/users.js";
import { openSocket } from "../support/ws-client.js";

const SPAN_KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

let receiver: OtlpReceiver;
let system: RunningSystem;

function tracingEnv(to: OtlpReceiver): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: to.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  };
}

before(async () => {
  receiver = await startOtlpReceiver();
  system = await startSystem({ commonEnv: tracingEnv(receiver) });
});

after(async () => {
  await system?.close();
  await receiver?.close();
});

function describe(spans: readonly ReceivedSpan[]): string {
  return spans.map((s) => `${s.service} ${s.name} ${s.traceId}/${s.spanId}<-${s.parentSpanId}`).join("\n");
}

/**
 * Asserts that `hops` are, in order, ancestors of `leaf` (itself the first
 * hop's descendant or the first hop) in `spans`, and returns the chain.
 */
function assertAncestry(
  spans: readonly ReceivedSpan[],
  leaf: ReceivedSpan,
  hops: readonly [string, (s: ReceivedSpan) => boolean][],
): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain = [leaf];
  for (let s = byId.get(leaf.parentSpanId); s; s = byId.get(s.parentSpanId)) chain.push(s);
  let from = 0;
  for (const [what, matches] of hops) {
    const i = chain.findIndex((s, j) => j >= from && matches(s));
    assert.ok(i >= 0, `${what} is not where it should be among the ancestors of ${leaf.name}:\n${describe(chain)}`);
    from = i + 1;
  }
  return chain;
}

/** Registers `username` through the edge and returns the spans of its trace once the OTP mail's send is among them. */
async function traceRegistration(on: RunningSystem, to: OtlpReceiver, username: string) {
  const email = `${username}@example.test`;
  const reg = await api(on, "POST", "/api/users/register", { email, username, password: "correct horse battery" });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  await on.smtp.waitFor((m) => m.envelopeTo.includes(email));
  // The one edge request span for this registration: the receiver holds only this system's spans.
  const request = () =>
    to.spans.find((s) => s.service === "edge" && s.kind === SPAN_KIND.server && s.name === "POST /api/users/register");
  const smtpSend = (traceId: string) =>
    to.spans.find((s) => s.service === "mail-worker" && s.name === "smtp send" && s.traceId === traceId);
  await waitUntil(
    () => {
      const r = request();
      return r !== undefined && smtpSend(r.traceId) !== undefined;
    },
    15_000,
    () => describe(to.spans),
  );
  const root = request() as ReceivedSpan;
  const spans = to.spans.filter((s) => s.traceId === root.traceId);
  return { root, spans, send: smtpSend(root.traceId) as ReceivedSpan };
}

function parsedLines(output: readonly string[]): Record<string, unknown>[] {
  return output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

test("one registration is one trace from the edge through user-svc and RabbitMQ to the mail worker's SMTP send", async () => {
  const { root, spans, send } = await traceRegistration(system, receiver, "traced");
  const services = new Set(spans.map((s) => s.service));
  for (const service of ["edge", "user-svc", "mail-worker"]) {
    assert.ok(services.has(service), `no ${service} span in the registration's trace:\n${describe(spans)}`);
  }
  const chain = assertAncestry(spans, send, [
    ["the worker's consumption of the event", (s) => s.service === "mail-worker" && s.kind === SPAN_KIND.consumer],
    ["the relay's publish", (s) => s.service === "user-svc" && s.kind === SPAN_KIND.producer && /publish/.test(s.name)],
    ["the outbox write", (s) => s.service === "user-svc" && s.name === "outbox enqueue user.otp.send"],
    ["the transaction", (s) => s.service === "user-svc" && s.name === "postgresql transaction"],
    [
      "user-svc's Register call",
      (s) => s.service === "user-svc" && s.kind === SPAN_KIND.server && s.name.endsWith("UserService/Register"),
    ],
    ["the edge's gRPC call", (s) => s.service === "edge" && s.kind === SPAN_KIND.client],
    ["the edge's HTTP request", (s) => s.spanId === root.spanId],
  ]);
  assert.equal(chain.at(-1)?.spanId, root.spanId, "the edge's request is the trace's root");
  assert.equal(root.parentSpanId, "");

  // The worker's log line for the event carries the trace id.
  const worker = system.components.get("mail-worker");
  const handled = () =>
    parsedLines(worker?.output ?? []).find((l) => l.msg === "event handled" && l.routingKey === "user.otp.send");
  await waitUntil(
    () => handled() !== undefined,
    5_000,
    () => worker?.output.join("\n") ?? "",
  );
  assert.equal(handled()?.trace_id, root.traceId, "the worker's log line names the registration's trace");
});

test("a WebSocket frame starts a trace through chat-svc's transaction, its outbox and the relay", async () => {
  const alice = await signUp(system, "ws_traced");
  const created = await api(system, "POST", "/api/chats/rooms", { name: "traced" }, alice.token);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const roomId = (created.json.room as { id: string }).id;
  const sent = await api(system, "POST", "/api/chats/messages", { roomId, message: "hello" }, alice.token);
  assert.equal(sent.status, 201, JSON.stringify(sent.json));
  const socket = await openSocket(system.wsUrl);
  try {
    socket.send({ ref: "a", authenticate: { token: alice.token } });
    await socket.next((f) => f.ref === "a");
    socket.send({ ref: "r", markRead: { roomId, seq: "1" } });
    const ack = await socket.next((f) => f.ref === "r");
    assert.ok("readAck" in ack, JSON.stringify(ack));
  } finally {
    await socket.close();
  }
  const frame = () => receiver.spans.find((s) => s.service === "edge" && s.name === "ws markRead");
  // The relay's publish of the room.read event MarkRead wrote (the edges get it from there).
  const published = (traceId: string) => {
    const inTrace = receiver.spans.filter((s) => s.traceId === traceId);
    const enqueue = inTrace.find((s) => s.service === "chat-svc" && s.name === "outbox enqueue room.read");
    return inTrace.find((s) => s.kind === SPAN_KIND.producer && s.parentSpanId === enqueue?.spanId);
  };
  await waitUntil(
    () => {
      const f = frame();
      return f !== undefined && published(f.traceId) !== undefined;
    },
    15_000,
    () => describe(receiver.spans),
  );
  const root = frame() as ReceivedSpan;
  assert.equal(root.parentSpanId, "", "a frame is a request of its own, not part of the socket's upgrade");
  assertAncestry(
    receiver.spans.filter((s) => s.traceId === root.traceId),
    published(root.traceId) as ReceivedSpan,
    [
      ["the outbox write", (s) => s.service === "chat-svc" && s.name === "outbox enqueue room.read"],
      ["the transaction", (s) => s.service === "chat-svc" && s.name === "postgresql transaction"],
      ["chat-svc's MarkRead call", (s) => s.service === "chat-svc" && s.name.endsWith("ChatService/MarkRead")],
      ["the edge's gRPC call", (s) => s.service === "edge" && s.kind === SPAN_KIND.client],
      ["the frame", (s) => s.spanId === root.spanId],
    ],
  );
});

test("the bundles the image runs trace a registration the same way", async () => {
  await buildAll();
  const builtReceiver = await startOtlpReceiver();
  const built = await startSystem({ built: true, commonEnv: tracingEnv(builtReceiver) });
  try {
    const { spans, send } = await traceRegistration(built, builtReceiver, "built_traced");
    assertAncestry(spans, send, [
      ["the worker's consumption", (s) => s.service === "mail-worker" && s.kind === SPAN_KIND.consumer],
      ["the outbox write", (s) => s.service === "user-svc" && s.name === "outbox enqueue user.otp.send"],
      ["the edge's gRPC call", (s) => s.service === "edge" && s.kind === SPAN_KIND.client],
      ["the edge's HTTP request", (s) => s.service === "edge" && s.kind === SPAN_KIND.server],
    ]);
  } finally {
    await built.close();
    await builtReceiver.close();
  }
});
