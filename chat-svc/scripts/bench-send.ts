/**
 * Local throughput check of SendMessage: starts chat-svc on a scratch
 * database (as the tests do), creates ROOMS rooms, then, from a separate
 * load process (as the edge would be), keeps CONCURRENCY sends in flight
 * for SECONDS and reports persisted messages/s and accept latency. One
 * edge-like StreamEvents subscriber in the load process counts what is
 * fanned out.
 *
 *   node --import tsx chat-svc/scripts/bench-send.ts [SECONDS=10] [CONCURRENCY=400] [ROOMS=200]
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { bearer, startHarness, type User } from "../test/harness.js";

interface Plan {
  port: number;
  seconds: number;
  concurrency: number;
  serviceToken: string;
  rooms: { id: string; members: { token: string; username: string }[] }[];
}

interface Report {
  accepted: number;
  errors: number;
  streamed: number;
  elapsed: number;
  latencies: number[];
}

if (process.argv[2] === "--load") {
  process.once("message", (plan: Plan) => {
    void load(plan).then((report) => process.send?.(report, () => process.exit(0)));
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const concurrency = Number(process.argv[3] ?? 400);
  const roomCount = Number(process.argv[4] ?? 200);
  const h = await startHarness();
  try {
    const users: User[] = await Promise.all(Array.from({ length: 50 }, () => h.signIn()));
    const rooms: Plan["rooms"] = [];
    for (let i = 0; i < roomCount; i++) {
      const members = [...new Set(Array.from({ length: 5 }, (_, k) => users[(i + k * 7) % users.length] as User))];
      const [owner, ...rest] = members as [User, ...User[]];
      const { room } = await h.client.createRoom(
        { name: `bench-${i}`, memberIds: rest.map((u) => u.userId) },
        owner.call,
      );
      if (!room) throw new Error("no room");
      rooms.push({ id: room.id, members: members.map((u) => ({ token: u.token, username: u.username })) });
    }
    const serviceToken = await h.keys.issueService("edge", 900);
    const child = fork(fileURLToPath(import.meta.url), ["--load"], { execArgv: ["--import", "tsx"] });
    const cpuBefore = process.cpuUsage();
    const eluBefore = performance.eventLoopUtilization();
    const report = await new Promise<Report>((resolve, reject) => {
      child.once("message", (r) => resolve(r as Report));
      child.once("error", reject);
      child.send({
        port: h.app.port,
        seconds,
        concurrency,
        serviceToken,
        rooms,
      } satisfies Plan);
    });
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    const latencies = report.latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]?.toFixed(1);
    const [counts] = await h.infra.sql<{ messages: number; events: number }[]>`
      select (select count(*)::int from messages) as messages, (select count(*)::int from room_events) as events`;
    console.log(
      JSON.stringify({
        seconds: report.elapsed.toFixed(1),
        concurrency,
        rooms: roomCount,
        accepted: report.accepted,
        errors: report.errors,
        persisted: counts?.messages,
        events: counts?.events,
        perSecond: Math.round(report.accepted / report.elapsed),
        p50ms: pct(0.5),
        p99ms: pct(0.99),
        maxMs: latencies.at(-1)?.toFixed(1),
        streamed: report.streamed,
        // This process is chat-svc (plus the test harness's idle bits).
        serverCpuUsPerMessage: Math.round((cpu.user + cpu.system) / Math.max(1, report.accepted)),
        serverEventLoopUtilization: elu.utilization.toFixed(2),
      }),
    );
  } finally {
    await h.close();
  }
}

async function load(plan: Plan): Promise<Report> {
  const client = createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${plan.port}` }));
  const controller = new AbortController();
  let streamed = 0;
  const stream = client.streamEvents({}, { ...bearer(plan.serviceToken), signal: controller.signal });
  const draining = (async () => {
    try {
      for await (const _ of stream) streamed++;
    } catch {
      // aborted at the end
    }
  })();
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const started = performance.now();
  const deadline = started + plan.seconds * 1000;
  await Promise.all(
    Array.from({ length: plan.concurrency }, async () => {
      while (performance.now() < deadline) {
        const n = counter++;
        const room = plan.rooms[n % plan.rooms.length] as Plan["rooms"][number];
        const sender = room.members[
          Math.floor(n / plan.rooms.length) % room.members.length
        ] as Plan["rooms"][number]["members"][number];
        const t0 = performance.now();
        try {
          await client.sendMessage(
            { roomId: room.id, text: `hello @${sender.username} ${n}`, clientMessageId: `c${n}` },
            bearer(sender.token),
          );
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errors < 5) console.error(err);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  // Let the stream catch up with what was accepted before counting.
  const settleBy = performance.now() + 5000;
  while (streamed < latencies.length && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 50));
  controller.abort();
  await draining;
  return { accepted: latencies.length, errors, streamed, elapsed, latencies };
}
