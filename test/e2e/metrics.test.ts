/**
 * The ops surface of the four components as separate processes: each one's
 * /metrics parses and the main series move after real traffic through the
 * edge (REST sign-ups, the SDK over Connect and WebSocket, mail); /livez and
 * /readyz answer 200 while up, and /readyz turns 503 as soon as SIGTERM
 * arrives, for as long as SHUTDOWN_DRAIN_MS holds the process up.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { ParleyClient } from "@parley/client";
import { service as healthService } from "grpc-health-check";
import { type Exposition, has, scrape, total } from "../support/prometheus.js";
import { type ComponentName, type RunningSystem, startSystem, waitUntil } from "../support/system.js";
import { api as callApi, sdkFor, signUp as signUpVia } from "../support/users.js";

/** Long enough to see /readyz answer 503 while the process is still up. */
const DRAIN_MS = 3_000;

let system: RunningSystem;

before(async () => {
  const drain = { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) };
  system = await startSystem({
    env: { "user-svc": drain, "chat-svc": drain, "mail-worker": drain, edge: drain },
  });
  // startSystem waits for the edge only; the mail worker may still be connecting.
  await waitUntil(
    async () => {
      const answers = await Promise.all(
        COMPONENTS.map((c) =>
          fetch(`${opsUrl(c)}/readyz`).then(
            (r) => r.status,
            () => 0,
          ),
        ),
      );
      return answers.every((status) => status === 200);
    },
    30_000,
    () => [...system.components.values()].map((c) => `${c.name}:\n  ${c.output.slice(-20).join("\n  ")}`).join("\n"),
  );
});

after(async () => {
  await system?.close();
});

/** Where each component answers /metrics, /livez and /readyz. */
function opsUrl(name: ComponentName): string {
  const port = {
    edge: system.ports.edge,
    "mail-worker": system.ports.mail,
    "user-svc": system.ports.userMetrics,
    "chat-svc": system.ports.chatMetrics,
  }[name];
  return `http://127.0.0.1:${port}`;
}

const COMPONENTS: readonly ComponentName[] = ["user-svc", "chat-svc", "mail-worker", "edge"];

async function scrapeAll(): Promise<Record<ComponentName, Exposition>> {
  const entries = await Promise.all(COMPONENTS.map(async (c) => [c, await scrape(`${opsUrl(c)}/metrics`)] as const));
  return Object.fromEntries(entries) as Record<ComponentName, Exposition>;
}

/** grpc.health.v1 Check("") at a service's gRPC port: "SERVING", "NOT_SERVING", or the error. */
async function grpcHealth(port: number): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, "grpc.health.v1.Health");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(
      req: { service: string },
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
    ): void;
  };
  try {
    return await new Promise<string>((resolve) =>
      client.check({ service: "" }, { deadline: Date.now() + 2_000 }, (err, res) =>
        resolve(err ? err.message : (res?.status ?? "UNKNOWN")),
      ),
    );
  } finally {
    client.close();
  }
}

const api = (method: string, path: string, body?: unknown, token?: string) =>
  callApi(system, method, path, body, token);

test("every component's /metrics moves with real traffic", async () => {
  const before = await scrapeAll();
  for (const c of COMPONENTS) {
    assert.ok(has(before[c], "parley_component_info", { component: c }), `${c} names itself`);
    assert.ok(has(before[c], "parley_process_cpu_user_seconds_total"), `${c} has process metrics`);
    assert.ok(has(before[c], "parley_nodejs_eventloop_lag_seconds"), `${c} has Node.js metrics`);
  }
  for (const c of ["user-svc", "chat-svc", "mail-worker"] as const) {
    assert.equal(total(before[c], "parley_postgres_pool_max_connections"), 10, `${c}'s pool size`);
    // The scrape's own query runs on one of the process's connections.
    assert.ok(total(before[c], "parley_postgres_connections", { state: "active" }) >= 1, `${c}'s connections`);
  }
  for (const c of ["user-svc", "chat-svc"] as const) {
    assert.equal(before[c].types.get("parley_outbox_backlog"), "gauge");
    assert.ok(has(before[c], "parley_outbox_oldest_age_seconds"), `${c} reports its outbox's age`);
  }
  assert.ok(has(before["mail-worker"], "parley_mail_pending_digests"));

  const alice = await signUpVia(system, "alice");
  const bob = await signUpVia(system, "bob");
  // Refused by user-svc: an error code on both sides.
  const refused = await api("POST", "/api/users/login", { email: alice.email, password: "not her password" });
  assert.equal(refused.status, 401, JSON.stringify(refused.json));
  const created = await api("POST", "/api/chats/rooms", { name: "metrics", memberIds: [bob.id] }, alice.token);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const roomId = (created.json.room as { id: string }).id;

  const sdk = (user: { token: string; refreshToken: string }) => sdkFor(system, user);
  const clients = [sdk(alice), sdk(bob)];
  let during: Exposition;
  try {
    await Promise.all(clients.map((c) => c.start()));
    await Promise.all(clients.map((c) => c.loadTimeline(roomId)));
    await waitUntil(
      () => clients.every((c) => c.getSnapshot().roomsById.get(roomId)?.status === "live"),
      20_000,
      () => "both clients follow the room",
    );
    const [sender, receiver] = clients as [ParleyClient, ParleyClient];
    for (const text of ["one", "two", "three"]) await sender.send(roomId, text);
    await waitUntil(
      () => (receiver.getSnapshot().roomsById.get(roomId)?.messages ?? []).length === 3,
      20_000,
      () => "bob sees the three messages",
    );
    during = await scrape(`${opsUrl("edge")}/metrics`);
  } finally {
    for (const c of clients) c.close();
  }
  // Welcome mails are sent after the sign-ups' codes: the worker has acked both.
  for (const u of [alice, bob]) {
    await system.smtp.waitFor((m) => m.envelopeTo.includes(u.email) && /welcome/i.test(m.parsed.subject ?? ""));
  }
  await waitUntil(
    async () => total(await scrape(`${opsUrl("edge")}/metrics`), "parley_ws_connections") === 0,
    10_000,
    () => "the edge counts the sockets closed",
  );
  const afterTraffic = await scrapeAll();
  for (const c of COMPONENTS) {
    // prom-client's event loop lag statistics are NaN when no sample fell between two scrapes.
    const nan = afterTraffic[c].samples.filter(
      (s) => Number.isNaN(s.value) && !s.name.startsWith("parley_nodejs_eventloop_lag_"),
    );
    assert.deepEqual(nan, [], `${c} has no NaN samples`);
  }
  const delta = (c: ComponentName, name: string, match: Record<string, string> = {}) =>
    total(afterTraffic[c], name, match) - total(before[c], name, match);

  // user-svc: calls by method and code, and the sign-ups' events relayed.
  const userSvc = { service: "parley.user.v1.UserService" };
  assert.equal(
    delta("user-svc", "parley_grpc_server_handled_total", { ...userSvc, method: "Register", code: "ok" }),
    2,
  );
  assert.equal(
    delta("user-svc", "parley_grpc_server_handled_total", { ...userSvc, method: "Login", code: "unauthenticated" }),
    1,
  );
  assert.equal(
    delta("user-svc", "parley_grpc_server_handled_total", { ...userSvc, method: "VerifyOtp", code: "ok" }),
    2,
  );
  assert.equal(
    delta("user-svc", "parley_grpc_server_handling_seconds_count", { ...userSvc, method: "Register", code: "ok" }),
    2,
  );
  // Each sign-up publishes at least its registration and its verification.
  assert.ok(delta("user-svc", "parley_outbox_published_total") >= 4, "user-svc relayed the sign-ups' events");

  // chat-svc: the edge's batched sends, written in batches, their events relayed.
  const chatSvc = { service: "parley.chat.v1.ChatService" };
  assert.ok(
    delta("chat-svc", "parley_grpc_server_handled_total", { ...chatSvc, method: "SendMessages", code: "ok" }) >= 1,
  );
  assert.ok(
    delta("chat-svc", "parley_grpc_server_handled_total", { ...chatSvc, method: "CreateRoom", code: "ok" }) === 1,
  );
  assert.ok(delta("chat-svc", "parley_chat_send_batch_size_count") >= 1, "send batches");
  assert.equal(delta("chat-svc", "parley_chat_send_batch_size_sum"), 3, "three sends in the batches");
  assert.equal(delta("chat-svc", "parley_chat_sends_total", { outcome: "stored" }), 3);
  assert.ok(delta("chat-svc", "parley_chat_send_batch_seconds_count", { outcome: "ok" }) >= 1);
  assert.ok(delta("chat-svc", "parley_outbox_published_total") >= 4, "the room and its messages relayed");

  // edge: REST by route pattern and status, Connect by method, the sockets' frames, closes and fan-out.
  assert.equal(
    delta("edge", "parley_http_requests_total", { method: "POST", route: "/api/users/register", status: "201" }),
    2,
  );
  assert.equal(
    delta("edge", "parley_http_requests_total", { method: "POST", route: "/api/users/login", status: "401" }),
    1,
  );
  assert.equal(
    delta("edge", "parley_http_requests_total", { method: "POST", route: "/api/chats/rooms", status: "201" }),
    1,
  );
  assert.ok(
    !afterTraffic.edge.samples.some((s) => s.name === "parley_http_requests_total" && s.labels.route?.includes(roomId)),
    "no raw URL is a route label",
  );
  const chatConnect = { service: "parley.chat.v1.ChatService", method: "ListRooms", code: "ok" };
  assert.ok(delta("edge", "parley_connect_server_handled_total", chatConnect) >= 2, "the SDKs' Connect calls");
  assert.ok(delta("edge", "parley_connect_server_handling_seconds_count", chatConnect) >= 2);
  assert.equal(total(during, "parley_ws_connections"), 2, "two sockets open while the clients ran");
  assert.equal(delta("edge", "parley_ws_frames_received_total", { type: "send" }), 3);
  assert.ok(delta("edge", "parley_ws_frames_received_total", { type: "subscribe" }) >= 2);
  // Each of the three messages reached both sockets.
  assert.ok(delta("edge", "parley_ws_frames_sent_total", { type: "event" }) >= 6);
  assert.equal(delta("edge", "parley_ws_frames_sent_total", { type: "ack" }), 3, "the sends' acks");
  assert.ok(delta("edge", "parley_ws_fanout_delay_seconds_count") >= 3, "one fan-out per message at least");
  assert.ok(delta("edge", "parley_ws_closes_total") >= 2, "both sockets' closes");

  // mail-worker: the codes and welcomes were delivered, acked and mailed.
  assert.ok(delta("mail-worker", "parley_mail_deliveries_total") >= 4);
  assert.ok(delta("mail-worker", "parley_mail_deliveries_settled_total", { outcome: "ack" }) >= 4);
  assert.ok(delta("mail-worker", "parley_mail_sent_total") >= 4, "two codes and two welcomes");
  assert.equal(delta("mail-worker", "parley_mail_send_failures_total"), 0);
  assert.ok(delta("mail-worker", "parley_mail_send_seconds_count") >= 4);
});

test("/livez and /readyz: ready while up, not ready from SIGTERM on while the drain delay holds", async () => {
  for (const c of COMPONENTS) {
    for (const path of ["/livez", "/readyz"]) {
      const res = await fetch(`${opsUrl(c)}${path}`);
      assert.equal(res.status, 200, `${c} ${path}`);
    }
  }
  const grpcPorts: Partial<Record<ComponentName, number>> = {
    "user-svc": system.ports.user,
    "chat-svc": system.ports.chat,
  };
  // The edge first, so that it does not report the services' drain as its own.
  for (const c of ["edge", "user-svc", "chat-svc", "mail-worker"] as const) {
    const child = system.components.get(c)?.process;
    assert.ok(child);
    const grpcPort = grpcPorts[c];
    if (grpcPort !== undefined) assert.equal(await grpcHealth(grpcPort), "SERVING", `${c}'s gRPC health`);
    const exited = once(child, "exit");
    const signalledAt = Date.now();
    child.kill("SIGTERM");
    await waitUntil(
      async () => (await fetch(`${opsUrl(c)}/readyz`)).status === 503,
      DRAIN_MS / 2,
      () => `${c} /readyz turns 503 after SIGTERM`,
    );
    // Still alive and answering while it drains; gRPC health tells its clients to go elsewhere.
    assert.equal((await fetch(`${opsUrl(c)}/livez`)).status, 200, `${c} /livez while draining`);
    if (grpcPort !== undefined) assert.equal(await grpcHealth(grpcPort), "NOT_SERVING", `${c}'s gRPC health draining`);
    assert.equal(child.exitCode, null, `${c} waits out its drain delay`);
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, `${c} exits cleanly`);
    assert.ok(Date.now() - signalledAt >= DRAIN_MS, `${c} stayed up for SHUTDOWN_DRAIN_MS`);
  }
});
