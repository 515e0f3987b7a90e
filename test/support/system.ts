/**
 * Runs the whole system as separate processes, the way `npm start` does, but
 * on free ports against fresh databases, a random AMQP namespace and Redis
 * prefix, and an in-process SMTP server, so e2e tests can run beside others.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createInterface } from "node:readline";
import {
  createTestDatabase,
  createTestTopology,
  freePort,
  randomName,
  startSmtpServer,
  TEST_RABBITMQ_URL,
  TEST_REDIS_URL,
  type TestDatabase,
  type TestSmtpServer,
} from "@parley/shared/testing.js";
import { TRACING_PRELOAD } from "../../scripts/tracing-preload.js";

const root = new URL("../..", import.meta.url).pathname;

export { freePort };

export interface Component {
  name: string;
  process: ChildProcess;
  output: string[];
}

export interface RunningSystem {
  edgeUrl: string;
  databases: { user: string; chat: string; mail: string };
  wsUrl: string;
  smtp: TestSmtpServer;
  env: Record<string, string>;
  /** userMetrics and chatMetrics: the services' METRICS_PORT (/metrics, /livez, /readyz). */
  ports: { edge: number; user: number; chat: number; mail: number; userMetrics: number; chatMetrics: number };
  components: Map<string, Component>;
  start(name: ComponentName, extraEnv?: Record<string, string>): Promise<Component>;
  stop(name: ComponentName, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export type ComponentName = "user-svc" | "chat-svc" | "mail-worker" | "edge";

export interface SystemOptions {
  /** Which components to start (default: all four). */
  components?: readonly ComponentName[];
  logLevel?: string;
  /**
   * The PostgreSQL server for the components' databases (a server URL, e.g. a
   * test's private-postgres.ts): they create their databases there on start,
   * and the server's owner throws them away. Default: fresh databases on the
   * shared test server, dropped on close.
   */
  postgresUrl?: string;
  /** Run the bundles `npm run build` wrote (`node dist/main.js`, no tsx) instead of the sources. */
  built?: boolean;
  /** Extra environment per component, e.g. `{ edge: { WEB_DIST_DIR } }` to serve a fresh build of the web app. */
  env?: Partial<Record<ComponentName, Record<string, string>>>;
  /** Extra environment for every component, e.g. OTEL_EXPORTER_OTLP_ENDPOINT to turn tracing on. */
  commonEnv?: Record<string, string>;
  /**
   * How the components reach each server, given its URL: e.g. through a
   * proxy the test can cut (cuttable-proxy.ts). Creating and dropping the
   * test's databases and topology does not go through it. Default: directly.
   */
  through?: Partial<Record<"postgres" | "redis" | "rabbitmq", (url: string) => string>>;
}

/** The URL of database `name` on the server at `serverUrl`. */
function databaseOn(serverUrl: string, name: string): TestDatabase {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: async () => {} };
}

export async function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  const smtp = await startSmtpServer();
  const server = options.postgresUrl;
  const dbs: TestDatabase[] = server
    ? ["e2e_user", "e2e_chat", "e2e_mail"].map((name) => databaseOn(server, name))
    : await Promise.all([
        createTestDatabase("e2e_user"),
        createTestDatabase("e2e_chat"),
        createTestDatabase("e2e_mail"),
      ]);
  const [userDb, chatDb, mailDb] = dbs as [TestDatabase, TestDatabase, TestDatabase];
  const topo = createTestTopology();
  const ports = {
    edge: await freePort(),
    user: await freePort(),
    chat: await freePort(),
    mail: await freePort(),
    userMetrics: await freePort(),
    chatMetrics: await freePort(),
  };
  const direct = (url: string) => url;
  const via = {
    postgres: options.through?.postgres ?? direct,
    redis: options.through?.redis ?? direct,
    rabbitmq: options.through?.rabbitmq ?? direct,
  };
  const common = {
    NODE_ENV: "test",
    LOG_LEVEL: options.logLevel ?? "info",
    HOST: "127.0.0.1",
    JWT_SECRET: randomBytes(32).toString("hex"),
    REDIS_URL: via.redis(TEST_REDIS_URL),
    RABBITMQ_URL: via.rabbitmq(TEST_RABBITMQ_URL),
    AMQP_NAMESPACE: topo.topology.namespace,
    REDIS_KEY_PREFIX: `${randomName("e2e")}:`,
    ...options.commonEnv,
  };
  const envs: Record<ComponentName, Record<string, string>> = {
    "user-svc": {
      ...common,
      PORT: String(ports.user),
      METRICS_PORT: String(ports.userMetrics),
      DATABASE_URL: via.postgres(userDb.url),
      OTP_EXPIRY: "300",
    },
    "chat-svc": {
      ...common,
      PORT: String(ports.chat),
      METRICS_PORT: String(ports.chatMetrics),
      DATABASE_URL: via.postgres(chatDb.url),
      USER_SVC_URL: `http://127.0.0.1:${ports.user}`,
    },
    "mail-worker": {
      ...common,
      PORT: String(ports.mail),
      DATABASE_URL: via.postgres(mailDb.url),
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(smtp.port),
      FROM_EMAIL: "Parley <noreply@parley.test>",
      PUBLIC_URL: `http://127.0.0.1:${ports.edge}`,
      // Digest notifications after one second instead of five minutes.
      NOTIFY_DIGEST_WINDOW: "1",
    },
    edge: {
      ...common,
      PORT: String(ports.edge),
      USER_SVC_URL: `http://127.0.0.1:${ports.user}`,
      CHAT_SVC_URL: `http://127.0.0.1:${ports.chat}`,
    },
  };
  const components = new Map<string, Component>();

  async function start(name: ComponentName, extraEnv: Record<string, string> = {}): Promise<Component> {
    // For profiling the components under the bench, e.g. PARLEY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = process.env.PARLEY_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
    // With the tracing preload, as npm start and the image run them (it does nothing unless OTEL_* says so).
    const entry = options.built
      ? ["--import", `${root}${TRACING_PRELOAD.built}`, "dist/main.js"]
      : ["--import", "tsx", "--import", `${root}${TRACING_PRELOAD.source}`, "src/main.ts"];
    const child = spawn(process.execPath, [...nodeArgs, ...entry], {
      cwd: `${root}${name}`,
      env: {
        PATH: process.env.PATH ?? "",
        ...envs[name],
        ...options.env?.[name],
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const component: Component = { name, process: child, output: [] };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", (line) => component.output.push(line));
    }
    components.set(name, component);
    return component;
  }

  async function stop(name: ComponentName, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const c = components.get(name);
    if (!c || c.process.exitCode !== null || c.process.signalCode !== null) return;
    const exited = once(c.process, "exit");
    c.process.kill(signal);
    await exited;
  }

  for (const name of options.components ?? (["user-svc", "chat-svc", "mail-worker", "edge"] as const)) {
    await start(name);
  }
  const edgeUrl = `http://127.0.0.1:${ports.edge}`;
  await waitUntil(
    async () => (await fetch(`${edgeUrl}/healthz`).catch(() => undefined))?.ok === true,
    60_000,
    () => [...components.values()].map((c) => `${c.name}:\n  ${c.output.slice(-20).join("\n  ")}`).join("\n"),
  );

  return {
    edgeUrl,
    databases: { user: userDb.url, chat: chatDb.url, mail: mailDb.url },
    wsUrl: `ws://127.0.0.1:${ports.edge}/ws`,
    smtp,
    env: common,
    ports,
    components,
    start,
    stop,
    async close() {
      await Promise.all([...components.keys()].map((n) => stop(n as ComponentName)));
      await smtp.close();
      await Promise.all(dbs.map((d) => d.drop()));
      await topo.drop();
    },
  };
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  describe: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms\n${describe()}`);
}
