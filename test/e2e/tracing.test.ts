/**
 * Tracing across the whole system: the four components run as processes
 * exporting to an OTLP receiver in this process (OTLP/HTTP JSON). One
 * registration through the edge's REST API must be one trace: the edge's
 * HTTP request, its gRPC call, user-svc's transaction and outbox write, the
 * relay's publish, the mail worker's consumption of the event and its SMTP
 * send, each a descendant of the one before; and the worker's log lines
 * for that work carry the trace id.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.js";
import { type RunningSystem, startSystem, waitUntil } from "../support/system.js";
import { api } from "../support/users.js";

const SPAN_KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

let receiver: OtlpReceiver;
let system: RunningSystem;

before(async () => {
  receiver = await startOtlpReceiver();
  system = await startSystem({
    commonEnv: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    },
  });
});

after(async () => {
  await system?.close();
  await receiver?.close();
});

/** The chain of spans from `span` up to its trace's root, as far as they were received. */
function ancestry(spans: readonly ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain = [span];
  for (let s = byId.get(span.parentSpanId); s; s = byId.get(s.parentSpanId)) chain.push(s);
  return chain;
}

function describe(spans: readonly ReceivedSpan[]): string {
  return spans.map((s) => `${s.service} ${s.name} ${s.traceId}/${s.spanId}<-${s.parentSpanId}`).join("\n");
}

test("one registration is one trace from the edge through user-svc and RabbitMQ to the mail worker's SMTP send", async () => {
  const email = "traced@example.test";
  const reg = await api(system, "POST", "/api/users/register", {
    email,
    username: "traced",
    password: "correct horse battery",
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  await system.smtp.waitFor((m) => m.envelopeTo.includes(email));

  const register = () =>
    receiver.spans.find(
      (s) => s.service === "user-svc" && s.kind === SPAN_KIND.server && s.name.endsWith("UserService/Register"),
    );
  const smtpSendIn = (traceId: string) =>
    receiver.spans.find((s) => s.service === "mail-worker" && s.name === "smtp send" && s.traceId === traceId);
  await waitUntil(
    () => {
      const r = register();
      return r !== undefined && smtpSendIn(r.traceId) !== undefined;
    },
    15_000,
    () => describe(receiver.spans),
  );
  const registerSpan = register() as ReceivedSpan;
  const { traceId } = registerSpan;
  const trace = receiver.spans.filter((s) => s.traceId === traceId);
  const services = new Set(trace.map((s) => s.service));
  for (const service of ["edge", "user-svc", "mail-worker"]) {
    assert.ok(services.has(service), `no ${service} span in the registration's trace:\n${describe(trace)}`);
  }

  // Each hop a descendant of the one before, from the SMTP send back to the edge's HTTP request.
  const chain = ancestry(trace, smtpSendIn(traceId) as ReceivedSpan);
  const hop = (pred: (s: ReceivedSpan) => boolean, what: string) => {
    const i = chain.findIndex(pred);
    assert.ok(i >= 0, `${what} is not an ancestor of the SMTP send:\n${describe(chain)}`);
    return i;
  };
  const consume = hop((s) => s.service === "mail-worker" && s.kind === SPAN_KIND.consumer, "the worker's consumption");
  const publish = hop(
    (s) => s.service === "user-svc" && s.kind === SPAN_KIND.producer && /publish/.test(s.name),
    "the relay's publish",
  );
  const enqueue = hop((s) => s.service === "user-svc" && s.name === "outbox enqueue user.otp.send", "the outbox write");
  const transaction = hop((s) => s.service === "user-svc" && s.name === "postgresql transaction", "the transaction");
  const server = hop((s) => s === registerSpan || s.spanId === registerSpan.spanId, "user-svc's Register call");
  const client = hop((s) => s.service === "edge" && s.kind === SPAN_KIND.client, "the edge's gRPC call");
  const request = hop((s) => s.service === "edge" && s.kind === SPAN_KIND.server, "the edge's HTTP request");
  assert.deepEqual(
    [consume, publish, enqueue, transaction, server, client, request],
    [consume, publish, enqueue, transaction, server, client, request].toSorted((a, b) => a - b),
    `hops out of order:\n${describe(chain)}`,
  );
  assert.equal(chain.at(-1)?.parentSpanId, "", "the edge's request is the trace's root");

  // The worker's log line for the event carries the trace id.
  const worker = system.components.get("mail-worker");
  const handled = () =>
    worker?.output
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      })
      .find((l) => l?.msg === "event handled" && l.routingKey === "user.otp.send");
  await waitUntil(
    () => handled() !== undefined,
    5_000,
    () => worker?.output.join("\n") ?? "",
  );
  assert.equal(handled()?.trace_id, traceId, "the worker's log line names the registration's trace");
});
