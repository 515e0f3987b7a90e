/**
 * The edge in front of REAL user-svc and chat-svc, all in-process: each
 * service gets a fresh database, they share a random AMQP namespace, Redis
 * prefix and JWT secret (as a deployment does), and OTPs are read from the
 * user.otp.send events on a temporary queue bound to the exchange.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type UserOtpSend, UserOtpSendSchema } from "@parley/proto/events/v1/events_pb.js";
import { openServiceInfrastructure, type ServiceInfrastructure } from "@parley/shared/infrastructure.js";
import { createLogger } from "@parley/shared/logger.js";
import {
  createRecorder,
  createTestDatabase,
  createTestTopology,
  deleteRedisPrefix,
  listening,
  randomName,
  TEST_RABBITMQ_URL,
  TEST_REDIS_URL,
  type TestDatabase,
  waitFor,
} from "@parley/shared/testing.js";
import { type ChannelModel, connect } from "amqplib";
import WebSocket from "ws";
import { build as buildChatSvc } from "../../chat-svc/src/app.js";
import { readConfig as readChatConfig } from "../../chat-svc/src/config.js";
import { build as buildUserSvc } from "../../user-svc/src/app.js";
import { readConfig as readUserConfig } from "../../user-svc/src/config.js";
import { type App, type AppDeps, build } from "../src/app.js";
import { type configSpec, loadEdgeConfig } from "../src/config.js";

const logLevel = process.env.TEST_LOG_LEVEL ?? "silent";

export interface Edge {
  app: App;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

export interface ChatInstance {
  url: string;
  port: number;
  streams(): number;
  close(): Promise<void>;
}

export interface SignedUp {
  email: string;
  username: string;
  id: string;
  token: string;
  refreshToken: string;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export interface ApiOptions {
  /** Extra request headers (user agent, X-Forwarded-For…). */
  headers?: Record<string, string>;
  /** Another edge than the system's first. */
  baseUrl?: string;
}

export interface SystemOptions {
  /** user-svc variables (e.g. tiny rate limits) over the harness's. */
  userEnv?: Record<string, string>;
}

export interface System {
  edge: Edge;
  userSvcUrl: string;
  chatSvcUrl: string;
  secret: string;
  /** REDIS_KEY_PREFIX of every component. */
  redisKeyPrefix: string;
  /** How many StreamEvents calls chat-svc is serving. */
  chatStreams(): number;
  /** Another chat-svc process on the same database, Redis prefix and AMQP namespace. */
  startChatInstance(port?: number, env?: Record<string, string>): Promise<ChatInstance>;
  startEdge(overrides?: Partial<Record<keyof typeof configSpec, string>>, extra?: Partial<AppDeps>): Promise<Edge>;
  takeOtp(email: string): Promise<string>;
  api(method: string, path: string, body?: unknown, token?: string, opts?: ApiOptions): Promise<ApiResponse>;
  signUp(username?: string): Promise<SignedUp>;
  /** A new session for an existing account: login, then the emailed code. */
  signIn(user: { email: string }, opts?: ApiOptions): Promise<{ token: string; refreshToken: string }>;
  /** A WebSocket to `edge` (the first by default) authenticated at the upgrade, once `ready` came; closed with the system. */
  readySocket(token: string, edge?: Edge): Promise<TestSocket>;
  close(): Promise<void>;
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition") {
  await waitFor(async () => ((await check()) ? true : undefined), timeoutMs, what);
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const secret = randomBytes(32).toString("hex");
  const prefix = `${randomName("edge_test")}:`;
  const topo = createTestTopology();
  const dbs: TestDatabase[] = [];
  const infras: ServiceInfrastructure[] = [];
  const closers: (() => Promise<void>)[] = [];
  const common = {
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: logLevel,
    NODE_ENV: "test",
    REDIS_URL: TEST_REDIS_URL,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    JWT_SECRET: secret,
    AMQP_NAMESPACE: topo.topology.namespace,
    REDIS_KEY_PREFIX: prefix,
  };

  // Bound before anything is published, so no OTP is missed.
  const listener: ChannelModel = await connect(TEST_RABBITMQ_URL);
  const channel = await listener.createChannel();
  await channel.assertExchange(topo.topology.exchange, "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(queue, topo.topology.exchange, "user.otp.send");
  const otps: UserOtpSend[] = [];
  await channel.consume(queue, (msg) => msg && otps.push(fromBinary(UserOtpSendSchema, msg.content)), { noAck: true });

  async function service(name: string, dir: string, env: Record<string, string>) {
    const db = await createTestDatabase(`edge_${name}`);
    dbs.push(db);
    const logger = createLogger(name, logLevel);
    const infra = await openServiceInfrastructure({
      name,
      databaseUrl: db.url,
      migrationsFolder: fileURLToPath(new URL(`../../${dir}/drizzle`, import.meta.url)),
      redisUrl: TEST_REDIS_URL,
      amqpUrl: TEST_RABBITMQ_URL,
      topology: topo.topology,
      logger,
    });
    infras.push(infra);
    return { db, logger, infra, env: { ...common, ...env, DATABASE_URL: db.url } };
  }

  const u = await service("user-svc", "user-svc", options.userEnv ?? {});
  const userSvc = await listening(
    await buildUserSvc({ config: readUserConfig(u.env), sql: u.infra.sql, redis: u.infra.redis, logger: u.logger }),
  );
  closers.push(() => userSvc.close());
  const c = await service("chat-svc", "chat-svc", { USER_SVC_URL: `http://127.0.0.1:${userSvc.port}` });
  const chatSvc = await listening(
    await buildChatSvc({
      config: readChatConfig(c.env),
      sql: c.infra.sql,
      redis: c.infra.redis,
      amqp: c.infra.amqp,
      topology: topo.topology,
      logger: c.logger,
    }),
  );
  closers.push(() => chatSvc.close());

  const chatInstances = new Set<ChatInstance>();
  async function startChatInstance(port = 0, env: Record<string, string> = {}): Promise<ChatInstance> {
    const infra = await openServiceInfrastructure({
      name: "chat-svc",
      databaseUrl: c.db.url,
      migrationsFolder: fileURLToPath(new URL("../../chat-svc/drizzle", import.meta.url)),
      redisUrl: TEST_REDIS_URL,
      amqpUrl: TEST_RABBITMQ_URL,
      topology: topo.topology,
      logger: c.logger,
    });
    const app = await listening(
      await buildChatSvc({
        config: readChatConfig({ ...c.env, ...env }),
        sql: infra.sql,
        redis: infra.redis,
        amqp: infra.amqp,
        topology: topo.topology,
        logger: c.logger,
      }),
      port,
    );
    let closed = false;
    const instance: ChatInstance = {
      url: `http://127.0.0.1:${app.port}`,
      port: app.port,
      streams: () => app.fanout.size,
      async close() {
        if (closed) return;
        closed = true;
        chatInstances.delete(instance);
        await app.close();
        await infra.close();
      },
    };
    chatInstances.add(instance);
    return instance;
  }
  const userSvcUrl = `http://127.0.0.1:${userSvc.port}`;
  const chatSvcUrl = `http://127.0.0.1:${chatSvc.port}`;

  const edges = new Set<Edge>();
  async function startEdge(
    overrides: Partial<Record<keyof typeof configSpec, string>> = {},
    extra: Partial<AppDeps> = {},
  ): Promise<Edge> {
    const config = loadEdgeConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      NODE_ENV: "test",
      LOG_LEVEL: logLevel,
      USER_SVC_URL: userSvcUrl,
      CHAT_SVC_URL: chatSvcUrl,
      JWT_SECRET: secret,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      ...overrides,
    });
    const app = await listening(await build({ config, logger: createLogger("edge", logLevel), ...extra }));
    // Live events flow only once the edge's stream is registered with chat-svc.
    await waitUntil(() => app.realtime.events.connected, 10_000, "edge event stream open");
    let closed = false;
    const edge: Edge = {
      app,
      url: `http://127.0.0.1:${app.port}`,
      wsUrl: `ws://127.0.0.1:${app.port}/ws`,
      async close() {
        if (closed) return;
        closed = true;
        edges.delete(edge);
        await app.close();
      },
    };
    edges.add(edge);
    return edge;
  }

  const edge = await startEdge();

  async function takeOtp(email: string): Promise<string> {
    const found = await waitFor(() => otps.find((o) => o.email === email), 10_000, `OTP for ${email}`);
    otps.splice(otps.indexOf(found), 1);
    return found.otp;
  }

  async function api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    opts: ApiOptions = {},
  ): Promise<ApiResponse> {
    const res = await fetch(`${opts.baseUrl ?? edge.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...opts.headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  }

  async function signUp(username = randomName("u").slice(0, 20)): Promise<SignedUp> {
    const email = `${username.toLowerCase()}@example.test`;
    const reg = await api("POST", "/api/users/register", { email, username, password: "correct horse battery" });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.json)}`);
    const otp = await takeOtp(email);
    const verified = await api("POST", "/api/users/verify-otp", { email, otp });
    if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${JSON.stringify(verified.json)}`);
    const user = verified.json.user as { id: string };
    return {
      email,
      username,
      id: user.id,
      token: verified.json.accessToken as string,
      refreshToken: verified.json.refreshToken as string,
    };
  }

  async function signIn(user: { email: string }, opts: ApiOptions = {}) {
    const login = await api(
      "POST",
      "/api/users/login",
      { email: user.email, password: "correct horse battery" },
      "",
      opts,
    );
    if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.json)}`);
    const otp = await takeOtp(user.email);
    const verified = await api("POST", "/api/users/verify-otp", { email: user.email, otp }, "", opts);
    if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${JSON.stringify(verified.json)}`);
    return { token: verified.json.accessToken as string, refreshToken: verified.json.refreshToken as string };
  }

  const sockets: TestSocket[] = [];
  async function readySocket(token: string, on: Edge = edge): Promise<TestSocket> {
    const socket = await openSocket(on.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    sockets.push(socket);
    await socket.next((f) => "ready" in f);
    return socket;
  }

  return {
    edge,
    userSvcUrl,
    chatSvcUrl,
    secret,
    redisKeyPrefix: prefix,
    chatStreams: () => chatSvc.fanout.size,
    startChatInstance,
    startEdge,
    takeOtp,
    api,
    signUp,
    signIn,
    readySocket,
    async close() {
      await Promise.all(sockets.map((s) => s.close()));
      for (const e of [...edges]) await e.close();
      for (const instance of [...chatInstances]) await instance.close();
      for (const close of closers.reverse()) await close();
      for (const infra of infras) await infra.close();
      await listener.close();
      const redis = infras[0]?.redis;
      if (redis) await deleteRedisPrefix(redis, prefix);
      await topo.drop();
      for (const db of dbs) await db.drop();
    },
  };
}

export type Frame = Record<string, unknown> & { ref?: string };

export interface TestSocket {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: Frame | string): void;
  next(match: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  close(): Promise<void>;
}

/** A WebSocket client that records every frame it receives. */
export async function openSocket(
  url: string,
  opts: { headers?: Record<string, string>; autoPong?: boolean } = {},
): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers: opts.headers ?? {}, autoPong: opts.autoPong ?? true });
  const received = createRecorder<Frame>((frames) => `got ${JSON.stringify(frames).slice(0, 2000)}`);
  const frames = received.items;
  ws.on("message", (data) => received.push(JSON.parse(String(data)) as Frame));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await once(ws, "open");
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next: (match, timeoutMs = 10_000) => received.next(match, timeoutMs),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

export { waitFor };

/** Asserts an error response: its status, its code and, when given, its reason; returns the error. */
export function assertError(res: Pick<ApiResponse, "status" | "json">, status: number, code: string, reason?: string) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  const error = res.json.error as { code: string; message: string; reason: string };
  assert.equal(error.code, code, JSON.stringify(res.json));
  if (reason) assert.equal(error.reason, reason, JSON.stringify(res.json));
  return error;
}

let refs = 0;
/** Sends `frame` with a fresh `ref` and returns the frame that answers it. */
export async function request(socket: TestSocket, frame: Frame): Promise<Frame> {
  const ref = `r-${++refs}`;
  socket.send({ ref, ...frame });
  return socket.next((f) => f.ref === ref);
}
