/**
 * Each component while PostgreSQL, Redis or RabbitMQ is away: its health says
 * so (gRPC health for the services, GET /healthz for the mail worker) and
 * recovers when the server is back; SIGTERM still stops it within a few
 * seconds with exit code 0; a connection failing at an awkward moment
 * crashes nothing; and all it logs meanwhile is JSON lines.
 *
 * The shared servers are never touched: the components reach them through
 * TCP proxies this test cuts (cuttable-proxy.ts), either resetting every
 * connection (a server that is stopped) or passing nothing (one that hangs).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { TEST_POSTGRES_URL, TEST_RABBITMQ_URL, TEST_REDIS_URL } from "@parley/shared/testing.js";
import { checkHealth, type HealthStatus } from "../../edge/src/health.js";
import { type CuttableProxy, type Outage, startCuttableProxy } from "../support/cuttable-proxy.js";
import { type ComponentName, type RunningSystem, startSystem, waitUntil } from "../support/system.js";

const COMPONENTS: readonly ComponentName[] = ["user-svc", "chat-svc", "mail-worker", "edge"];

/** SIGTERM to exit, with whatever is down. */
const SHUTDOWN_BOUND_MS = 5_000;

type Dependency = "postgres" | "redis" | "rabbitmq";

/** An AMQP method frame (type 1) carrying queue.declare (class 50, method 10), as a client sends it. */
function hasQueueDeclare(bytes: Buffer): boolean {
  for (let i = 7; i + 4 <= bytes.length; i++) {
    if (bytes[i - 7] === 1 && bytes.readUInt32BE(i) === 0x0032_000a) return true;
  }
  return false;
}

describe("dependency outages", () => {
  let system: RunningSystem;
  let proxies: Record<Dependency, CuttableProxy>;
  // The worker's own way to RabbitMQ, so that a trap set for its connection catches no other.
  let workerBroker: CuttableProxy;

  const cut = (dep: Dependency, how: Outage) => {
    proxies[dep].cut(how);
    if (dep === "rabbitmq") workerBroker.cut(how);
  };
  const restore = (dep: Dependency) => {
    proxies[dep].restore();
    if (dep === "rabbitmq") workerBroker.restore();
  };

  // Every probe here has a deadline: a component that hangs on a hung server must fail the test, not stall it.
  // Each probe ends its HTTP/2 session. Sessions left to the services' exits could hang this process at its
  // own exit: Node 20 spins in its handle cleanup on such a session (seen in CI as a file timing out 140 s after
  // its last test passed, the process at 100% CPU in Environment::CleanupHandles).
  const grpcHealth = async (port: number): Promise<HealthStatus> => {
    const baseUrl = `http://127.0.0.1:${port}`;
    const sessionManager = new Http2SessionManager(baseUrl);
    try {
      return await checkHealth(createGrpcTransport({ baseUrl, sessionManager }));
    } finally {
      sessionManager.abort();
    }
  };
  const servicesHealth = async () => ({
    user: await grpcHealth(system.ports.user),
    chat: await grpcHealth(system.ports.chat),
  });
  const workerHealth = async (): Promise<{ status: number; body: Record<string, unknown> } | undefined> => {
    try {
      const res = await fetch(`http://127.0.0.1:${system.ports.mail}/healthz`, { signal: AbortSignal.timeout(3_000) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    } catch {
      return undefined;
    }
  };
  const outputOf = (name: ComponentName) => system.components.get(name)?.output ?? [];
  const describeOutput = () =>
    COMPONENTS.map((name) => `--- ${name}:\n  ${outputOf(name).slice(-15).join("\n  ")}`).join("\n");

  /** Every line each component wrote (stdout and stderr) is one JSON object: no raw stacks, no stray text. */
  const assertStructuredLogs = () => {
    for (const name of COMPONENTS) {
      for (const line of outputOf(name)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          assert.fail(`${name} wrote a line that is not JSON: ${line}\n${describeOutput()}`);
        }
        assert.equal(typeof parsed, "object", `${name}: ${line}`);
      }
    }
  };

  const allHealthy = async () => {
    const edge = await fetch(`${system.edgeUrl}/healthz`, { signal: AbortSignal.timeout(3_000) }).catch(
      () => undefined,
    );
    return edge?.status === 200 && (await workerHealth())?.status === 200;
  };

  /** Starts whichever components are not running and waits until the edge and the worker say they are healthy. */
  const ensureRunning = async () => {
    for (const name of COMPONENTS) {
      const c = system.components.get(name);
      if (!c || c.process.exitCode !== null || c.process.signalCode !== null) await system.start(name);
    }
    await waitUntil(allHealthy, 60_000, describeOutput);
  };

  before(async () => {
    proxies = {
      postgres: await startCuttableProxy(TEST_POSTGRES_URL),
      redis: await startCuttableProxy(TEST_REDIS_URL),
      rabbitmq: await startCuttableProxy(TEST_RABBITMQ_URL),
    };
    workerBroker = await startCuttableProxy(TEST_RABBITMQ_URL);
    system = await startSystem({
      through: { postgres: proxies.postgres.via, redis: proxies.redis.via, rabbitmq: proxies.rabbitmq.via },
      env: { "mail-worker": { RABBITMQ_URL: workerBroker.via(TEST_RABBITMQ_URL) } },
    });
    await waitUntil(allHealthy, 30_000, describeOutput);
  });

  after(async () => {
    for (const dep of ["postgres", "redis", "rabbitmq"] as const) restore(dep);
    await system?.close();
    for (const proxy of [...Object.values(proxies ?? {}), workerBroker]) await proxy?.close();
  });

  it("user-svc and chat-svc are NOT_SERVING while Redis is away, and SERVING once it is back", async () => {
    await ensureRunning();
    assert.deepEqual(await servicesHealth(), { user: "serving", chat: "serving" });
    cut("redis", "reset");
    try {
      await waitUntil(
        async () =>
          JSON.stringify(await servicesHealth()) === JSON.stringify({ user: "not_serving", chat: "not_serving" }),
        10_000,
        describeOutput,
      );
    } finally {
      restore("redis");
    }
    await waitUntil(
      async () => JSON.stringify(await servicesHealth()) === JSON.stringify({ user: "serving", chat: "serving" }),
      15_000,
      describeOutput,
    );
    assertStructuredLogs();
  });

  it("user-svc and chat-svc are NOT_SERVING while Redis hangs, and SERVING once it answers again", async () => {
    await ensureRunning();
    cut("redis", "silent");
    try {
      await waitUntil(
        async () => {
          const services = await servicesHealth();
          return services.user === "not_serving" && services.chat === "not_serving";
        },
        10_000,
        describeOutput,
      );
    } finally {
      restore("redis");
    }
    await waitUntil(
      async () => {
        const services = await servicesHealth();
        return services.user === "serving" && services.chat === "serving";
      },
      15_000,
      describeOutput,
    );
    assertStructuredLogs();
  });

  it("user-svc, chat-svc and the mail worker are unhealthy while PostgreSQL is away, and healthy once it is back", async () => {
    await ensureRunning();
    cut("postgres", "reset");
    try {
      await waitUntil(
        async () => {
          const services = await servicesHealth();
          const worker = await workerHealth();
          return (
            services.user === "not_serving" &&
            services.chat === "not_serving" &&
            worker?.status === 503 &&
            (worker.body.dependencies as Record<string, string> | undefined)?.postgres === "down"
          );
        },
        15_000,
        describeOutput,
      );
    } finally {
      restore("postgres");
    }
    await waitUntil(
      async () => {
        const services = await servicesHealth();
        return services.user === "serving" && services.chat === "serving" && (await workerHealth())?.status === 200;
      },
      15_000,
      describeOutput,
    );
    assertStructuredLogs();
  });

  it("while RabbitMQ is away the mail worker is unhealthy and says why, the services keep serving; it consumes again once it is back", async () => {
    await ensureRunning();
    cut("rabbitmq", "reset");
    try {
      await waitUntil(
        async () => {
          const worker = await workerHealth();
          return (
            worker?.status === 503 &&
            (worker.body.dependencies as Record<string, string> | undefined)?.rabbitmq === "down"
          );
        },
        10_000,
        describeOutput,
      );
      // Their events wait in the outbox: a broker outage is no reason to take them out of service.
      assert.deepEqual(await servicesHealth(), { user: "serving", chat: "serving" });
    } finally {
      restore("rabbitmq");
    }
    await waitUntil(async () => (await workerHealth())?.status === 200, 20_000, describeOutput);
    assertStructuredLogs();
  });

  it("the mail worker survives its broker connection failing while it declares the topology, and consumes again", async () => {
    await ensureRunning();
    const worker = system.components.get("mail-worker");
    assert.ok(worker);
    workerBroker.cut("reset");
    await waitUntil(async () => (await workerHealth())?.status === 503, 10_000, describeOutput);
    // The next connection that gets as far as declaring a queue is reset right then.
    const sprung = workerBroker.resetNextWhen(hasQueueDeclare);
    workerBroker.restore();
    await Promise.race([
      sprung,
      once(worker.process, "exit").then(([code]) => assert.fail(`the worker exited (${code}) before the trap`)),
    ]);
    await waitUntil(
      async () => worker.process.exitCode !== null || (await workerHealth())?.status === 200,
      20_000,
      describeOutput,
    );
    assert.equal(worker.process.exitCode, null, `the worker exited\n${describeOutput()}`);
    assert.equal((await workerHealth())?.status, 200);
    assertStructuredLogs();
  });

  /** Cuts `dep`, SIGTERMs every component at once, and checks each exits 0 within the bound. */
  async function shutdownWith(dep: Dependency, how: Outage, ready: () => Promise<boolean>): Promise<void> {
    await ensureRunning();
    cut(dep, how);
    try {
      await waitUntil(ready, 15_000, describeOutput);
      const exits = await Promise.all(
        COMPONENTS.map(async (name) => {
          const child = system.components.get(name)?.process;
          assert.ok(child);
          const started = Date.now();
          const exited = once(child, "exit");
          child.kill("SIGTERM");
          const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
          return { name, code, signal, ms: Date.now() - started };
        }),
      );
      for (const exit of exits) {
        assert.equal(exit.code, 0, `${exit.name} exited with ${exit.code ?? exit.signal}\n${describeOutput()}`);
        assert.ok(exit.ms < SHUTDOWN_BOUND_MS, `${exit.name} took ${exit.ms} ms to stop\n${describeOutput()}`);
      }
      assertStructuredLogs();
    } finally {
      restore(dep);
    }
  }

  it("every component stops within 5 s with exit code 0 while PostgreSQL hangs", async () => {
    await shutdownWith("postgres", "silent", async () => {
      // Down at the time of SIGTERM, as far as each can tell.
      const worker = await workerHealth();
      const services = await servicesHealth();
      return services.user === "not_serving" && services.chat === "not_serving" && worker?.status === 503;
    });
  });

  it("every component stops within 5 s with exit code 0 while RabbitMQ hangs", async () => {
    await shutdownWith("rabbitmq", "silent", async () => true);
  });

  it("every component stops within 5 s with exit code 0 while Redis is stopped", async () => {
    await shutdownWith("redis", "reset", async () => {
      const services = await servicesHealth();
      return services.user === "not_serving" && services.chat === "not_serving";
    });
  });
});
