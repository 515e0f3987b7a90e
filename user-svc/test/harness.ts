import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  type UserOtpSend,
  UserOtpSendSchema,
  type UserRegistered,
  UserRegisteredSchema,
  type UserRegistrationAttempted,
  UserRegistrationAttemptedSchema,
  type UserUpdated,
  UserUpdatedSchema,
} from "@parley/proto/events/v1/events_pb.js";
import { OtpPurpose, UserService } from "@parley/proto/user/v1/user_pb.js";
import { createTokenKeys, SERVICE_TOKEN_HEADER } from "@parley/shared/auth.js";
import { openServiceInfrastructure, type ServiceInfrastructure } from "@parley/shared/infrastructure.js";
import { createLogger } from "@parley/shared/logger.js";
import { connectPostgres } from "@parley/shared/postgres.js";
import { connectRedis } from "@parley/shared/redis.js";
import {
  bearer,
  createTestDatabase,
  createTestTopology,
  deleteRedisPrefix,
  listening,
  randomName,
  rejectsWith,
  TEST_RABBITMQ_URL,
  TEST_REDIS_URL,
  type TestDatabase,
  type TestTopology,
  waitFor,
} from "@parley/shared/testing.js";
import { type ChannelModel, connect } from "amqplib";
import { type App, build } from "../src/app.js";
import { type Config, rateLimitDefaults, readConfig } from "../src/config.js";

export { OtpPurpose };

const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export interface Harness {
  config: Config;
  client: Client<typeof UserService>;
  infra: ServiceInfrastructure;
  app: App & { readonly port: number };
  /** The next user.otp.send event for `email` not taken yet. */
  takeOtp(email: string, timeoutMs?: number): Promise<UserOtpSend>;
  /** Call options of a call forwarded by an edge: `headers` (x-client-ip, …) with the edge's service token. */
  fromEdge(headers: Record<string, string>): { headers: Record<string, string> };
  otpEvents: UserOtpSend[];
  registeredEvents: UserRegistered[];
  updatedEvents: UserUpdated[];
  attemptEvents: UserRegistrationAttempted[];
  /** Another user-svc instance on the same database, Redis and RabbitMQ, with its own connections. */
  startSecondInstance(): Promise<{ client: Client<typeof UserService>; port: number; close(): Promise<void> }>;
  /** Registers, reads the mailed code and verifies it: a signed-in, verified user. */
  signUp(username: string, password?: string): Promise<SignedUp>;
  close(): Promise<void>;
}

export interface SignedUp {
  email: string;
  username: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

export const PASSWORD = "correct horse battery staple";

// Limits no test reaches by accident: every call in a test file comes from
// 127.0.0.1. Rate limit tests set tiny ones explicitly.
const GENEROUS_RATE_LIMITS = Object.fromEntries(Object.keys(rateLimitDefaults).map((name) => [name, "100000/60"]));

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const database: TestDatabase = await createTestDatabase("user_svc_test");
  const topo: TestTopology = createTestTopology();
  const config = readConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "silent",
    NODE_ENV: "test",
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    JWT_SECRET: randomBytes(32).toString("hex"),
    AMQP_NAMESPACE: topo.topology.namespace,
    REDIS_KEY_PREFIX: `${randomName("user_svc_test")}:`,
    ...GENEROUS_RATE_LIMITS,
    ...env,
  });
  const logger = createLogger("user-svc-test", config.LOG_LEVEL);

  // Bound before anything is published, so no event is missed.
  const listener: ChannelModel = await connect(TEST_RABBITMQ_URL);
  const channel = await listener.createChannel();
  await channel.assertExchange(topo.topology.exchange, "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(queue, topo.topology.exchange, "user.otp.send");
  await channel.bindQueue(queue, topo.topology.exchange, "user.registered");
  await channel.bindQueue(queue, topo.topology.exchange, "user.updated");
  await channel.bindQueue(queue, topo.topology.exchange, "user.registration.attempted");
  const otpEvents: UserOtpSend[] = [];
  const registeredEvents: UserRegistered[] = [];
  const updatedEvents: UserUpdated[] = [];
  const attemptEvents: UserRegistrationAttempted[] = [];
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      if (msg.fields.routingKey === "user.otp.send") otpEvents.push(fromBinary(UserOtpSendSchema, msg.content));
      if (msg.fields.routingKey === "user.registered") {
        registeredEvents.push(fromBinary(UserRegisteredSchema, msg.content));
      }
      if (msg.fields.routingKey === "user.updated") updatedEvents.push(fromBinary(UserUpdatedSchema, msg.content));
      if (msg.fields.routingKey === "user.registration.attempted") {
        attemptEvents.push(fromBinary(UserRegistrationAttemptedSchema, msg.content));
      }
    },
    { noAck: true },
  );

  const infra = await openServiceInfrastructure({
    name: "user-svc-test",
    databaseUrl: config.DATABASE_URL,
    migrationsFolder,
    redisUrl: config.REDIS_URL,
    amqpUrl: config.RABBITMQ_URL,
    topology: topo.topology,
    logger,
  });
  const app = await listening(await build({ config, sql: infra.sql, redis: infra.redis, logger }));
  const edgeToken = await createTokenKeys(config.JWT_SECRET).issueService("edge", 3600);
  const baseUrl = `http://127.0.0.1:${app.port}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const client = createClient(UserService, createGrpcTransport({ baseUrl, sessionManager }));

  async function startSecondInstance() {
    const sql = connectPostgres(config.DATABASE_URL, { appName: "user-svc-test-2" });
    const redis = connectRedis(config.REDIS_URL, logger, "user-svc-test-2");
    const second = await listening(await build({ config, sql, redis, logger }));
    const url = `http://127.0.0.1:${second.port}`;
    const sessions = new Http2SessionManager(url);
    return {
      client: createClient(UserService, createGrpcTransport({ baseUrl: url, sessionManager: sessions })),
      port: second.port,
      // In service-main's order: the app, then its connections.
      async close() {
        sessions.abort();
        await second.close();
        redis.disconnect();
        await sql.end({ timeout: 5 });
      },
    };
  }

  const taken = new Set<UserOtpSend>();
  async function takeOtp(email: string, timeoutMs = 10_000): Promise<UserOtpSend> {
    const event = await waitFor(() => otpEvents.find((e) => e.email === email && !taken.has(e)), timeoutMs);
    taken.add(event);
    return event;
  }

  async function signUp(username: string, password = PASSWORD): Promise<SignedUp> {
    const email = `${username.toLowerCase()}@example.test`;
    const { userId } = await client.register({ email, username, password });
    const { otp } = await takeOtp(email);
    const verified = await client.verifyOtp({ email, otp });
    return {
      email,
      username,
      password,
      userId,
      accessToken: verified.accessToken,
      refreshToken: verified.refreshToken,
    };
  }

  return {
    config,
    client,
    infra,
    app,
    takeOtp,
    fromEdge: (headers) => ({ headers: { ...headers, [SERVICE_TOKEN_HEADER]: edgeToken } }),
    otpEvents,
    registeredEvents,
    updatedEvents,
    attemptEvents,
    startSecondInstance,
    signUp,
    async close() {
      sessionManager.abort();
      await app.close();
      await infra.close();
      await listener.close();
      await deleteRedisPrefix(infra.redis, config.REDIS_KEY_PREFIX);
      await topo.drop();
      await database.drop();
    },
  };
}

export { bearer, rejectsWith, waitFor };
