/**
 * Starts chat-svc the way main.ts does (real PostgreSQL, Redis, RabbitMQ and
 * the outbox relay) against a fresh database, a random AMQP namespace and a
 * random Redis prefix, beside a real user-svc (its own fresh database, the
 * same namespace, prefix and secret) that chat-svc asks about users its
 * directory lacks. Users are signed in the way user-svc does it: a live
 * session key in Redis plus an access token signed with the shared secret,
 * and recorded in chat-svc's user directory as their user.registered event
 * would have. message.sent events are collected from a queue bound the way
 * the mail worker's is.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { type CallOptions, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService, type RoomEvent, type StreamEventsResponse } from "@parley/proto/chat/v1/chat_pb.js";
import type { MessageSent } from "@parley/proto/events/v1/events_pb.js";
import { createTokenKeys, type TokenKeys } from "@parley/shared/auth.js";
import { eventSchemas, isRoutingKey, type RoutingKey } from "@parley/shared/events.js";
import { openServiceInfrastructure, type ServiceInfrastructure } from "@parley/shared/infrastructure.js";
import { createLogger } from "@parley/shared/logger.js";
import { sessionKey } from "@parley/shared/sessions.js";
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
import type { Topology } from "@parley/shared/topology.js";
import { type ChannelModel, connect } from "amqplib";
import { build as buildUserSvc, type App as UserSvcApp } from "../../user-svc/src/app.js";
import { readConfig as readUserConfig } from "../../user-svc/src/config.js";
import { type App, type AppDeps, build } from "../src/app.js";
import { type Config, readConfig } from "../src/config.js";
import { createDb } from "../src/storage/db.js";
import { recordKnownUsers } from "../src/storage/known-users.js";

const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));
const userMigrationsFolder = fileURLToPath(new URL("../../user-svc/drizzle", import.meta.url));

export type ChatClient = Client<typeof ChatService>;

/** One running chat-svc process's worth of state. */
export interface Instance {
  infra: ServiceInfrastructure;
  app: App & { readonly port: number };
  client: ChatClient;
  close(): Promise<void>;
}

export interface User {
  userId: string;
  username: string;
  sessionId: string;
  token: string;
  /** Call options carrying the user's bearer token. */
  call: CallOptions;
}

export interface Harness extends Instance {
  config: Config;
  /** The AMQP namespace's exchanges and queues. */
  topology: Topology;
  keys: TokenKeys;
  /** Every message.sent event published so far, in arrival order. */
  sentEvents: MessageSent[];
  /** Every domain event published so far, in arrival order. */
  domainEvents: DomainEvent[];
  /** The payloads of the domain events with `key` so far, in arrival order. */
  eventsOf<K extends RoutingKey>(key: K): MessageShape<(typeof eventSchemas)[K]>[];
  /** Opens StreamEvents as the edge does and waits for its `ready` response. */
  openStream(on?: Instance, signal?: AbortSignal): Promise<EventStream>;
  /** A user with a live session, known to chat-svc's user directory. */
  signIn(username?: string): Promise<User>;
  /** The user-svc beside chat-svc: its database and address. */
  userSvc: { infra: ServiceInfrastructure; app: UserSvcApp & { readonly port: number }; url: string };
  /**
   * A verified account written straight into user-svc's database, as one
   * verified before chat-svc had a directory: no user.registered event ever
   * reaches chat-svc. Its id.
   */
  seedAccount(username?: string): Promise<string>;
  /** A new (public) room of `owner`'s with `others` as members; its id. */
  roomWith(owner: User, ...others: User[]): Promise<string>;
  /** Call options with a service token, as the edge presents for StreamEvents. */
  serviceCall(signal?: AbortSignal): Promise<CallOptions>;
  /** Another chat-svc instance on the same database, Redis prefix and AMQP namespace. */
  startInstance(opts?: InstanceOptions): Promise<Instance>;
  close(): Promise<void>;
}

export interface DomainEvent {
  key: RoutingKey;
  payload: MessageShape<DescMessage>;
}

/** A StreamEvents call past its `ready` response. */
export interface EventStream {
  /** The next event; fails if the stream ends or errs. */
  next(): Promise<RoomEvent>;
  /** The raw iterator, to observe how the stream ends. */
  iterator: AsyncIterator<StreamEventsResponse>;
}

interface InstanceOptions extends Pick<AppDeps, "streamQueueLimit" | "presenceTtlMs" | "presenceSweepIntervalMs"> {
  /** chat-svc variables over the harness's. */
  env?: Record<string, string>;
}

export async function startHarness(opts: InstanceOptions = {}): Promise<Harness> {
  const database: TestDatabase = await createTestDatabase("chat_svc_test");
  const userDatabase: TestDatabase = await createTestDatabase("chat_svc_test_users");
  const topo: TestTopology = createTestTopology();
  const common = {
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ENV: "test",
    REDIS_URL: TEST_REDIS_URL,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    JWT_SECRET: randomBytes(32).toString("hex"),
    AMQP_NAMESPACE: topo.topology.namespace,
    REDIS_KEY_PREFIX: `${randomName("chat_svc_test")}:`,
  };
  const logger = createLogger("chat-svc-test", common.LOG_LEVEL);

  const userInfra = await openServiceInfrastructure({
    name: "user-svc-test",
    databaseUrl: userDatabase.url,
    migrationsFolder: userMigrationsFolder,
    redisUrl: TEST_REDIS_URL,
    amqpUrl: TEST_RABBITMQ_URL,
    topology: topo.topology,
    logger,
  });
  const userApp = await listening(
    await buildUserSvc({
      config: readUserConfig({ ...common, DATABASE_URL: userDatabase.url }),
      sql: userInfra.sql,
      redis: userInfra.redis,
      logger,
    }),
  );
  const userSvc = { infra: userInfra, app: userApp, url: `http://127.0.0.1:${userApp.port}` };

  const chatEnv = {
    ...common,
    DATABASE_URL: database.url,
    USER_SVC_URL: userSvc.url,
    // Several lanes here, so the service tests cover rooms written side by
    // side; the system tests run the default single lane.
    SEND_BATCH_CONCURRENCY: "3",
    ...opts.env,
  };
  const config = readConfig(chatEnv);
  const keys = createTokenKeys(config.JWT_SECRET);

  // Bound before anything is published, so no event is missed.
  const listener: ChannelModel = await connect(TEST_RABBITMQ_URL);
  const channel = await listener.createChannel();
  await channel.assertExchange(topo.topology.exchange, "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(queue, topo.topology.exchange, "#");
  const sentEvents: MessageSent[] = [];
  const domainEvents: DomainEvent[] = [];
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      const key = msg.fields.routingKey;
      if (!isRoutingKey(key)) return;
      let payload: MessageShape<DescMessage>;
      try {
        payload = fromBinary(eventSchemas[key] as DescMessage, msg.content);
      } catch {
        return; // a malformed event a test published on purpose
      }
      domainEvents.push({ key, payload });
      if (key === "message.sent") sentEvents.push(payload as MessageSent);
    },
    { noAck: true },
  );

  const instances = new Set<Instance>();
  async function startInstance({ env, ...o }: InstanceOptions = {}): Promise<Instance> {
    const instanceConfig = env ? readConfig({ ...chatEnv, ...env }) : config;
    const infra = await openServiceInfrastructure({
      name: "chat-svc-test",
      databaseUrl: config.DATABASE_URL,
      migrationsFolder,
      redisUrl: config.REDIS_URL,
      amqpUrl: config.RABBITMQ_URL,
      topology: topo.topology,
      logger,
    });
    const app = await listening(
      await build({
        config: instanceConfig,
        logger,
        sql: infra.sql,
        redis: infra.redis,
        amqp: infra.amqp,
        topology: topo.topology,
        ...o,
      }),
    );
    const baseUrl = `http://127.0.0.1:${app.port}`;
    const sessionManager = new Http2SessionManager(baseUrl);
    const client = createClient(ChatService, createGrpcTransport({ baseUrl, sessionManager }));
    let closed = false;
    const instance: Instance = {
      infra,
      app,
      client,
      async close() {
        if (closed) return;
        closed = true;
        instances.delete(instance);
        // Server first: streams it ends must reach their clients before the connection goes.
        await app.close();
        sessionManager.abort();
        await infra.close();
      },
    };
    instances.add(instance);
    return instance;
  }

  const first = await startInstance(opts);
  const redis = first.infra.redis;
  const directory = createDb(first.infra.sql);

  return {
    ...first,
    config,
    topology: topo.topology,
    keys,
    sentEvents,
    domainEvents,
    eventsOf<K extends RoutingKey>(key: K) {
      return domainEvents.filter((e) => e.key === key).map((e) => e.payload as MessageShape<(typeof eventSchemas)[K]>);
    },
    async openStream(on = first, signal) {
      const token = await keys.issueService("edge", 900);
      const iterator = on.client
        .streamEvents({}, { ...bearer(token), ...(signal ? { signal } : {}) })
        [Symbol.asyncIterator]();
      const ready = await iterator.next();
      assert.equal(ready.done, false, "the stream ended before it was ready");
      assert.equal(ready.value.ready, true, "the first response says ready");
      assert.equal(ready.value.events.length, 0, "the first response carries no event");
      const buffered: RoomEvent[] = [];
      return {
        iterator,
        async next() {
          while (buffered.length === 0) {
            const r = await iterator.next();
            assert.equal(r.done, false, "the stream ended");
            assert.ok(r.value.events.length > 0, "a response after ready carries events");
            assert.equal(r.value.ready, false);
            buffered.push(...r.value.events);
          }
          return buffered.shift() as RoomEvent;
        },
      };
    },
    userSvc,
    async seedAccount(username = randomName("user")) {
      const id = randomUUID();
      await userInfra.sql`
        insert into users (id, email, username, username_key, password_hash, verified_at)
        values (${id}, ${`${username}@example.test`}, ${username}, ${username.toLowerCase()}, '!seeded', now())`;
      return id;
    },
    async signIn(username = randomName("user")) {
      const userId = randomUUID();
      const sessionId = randomUUID();
      await recordKnownUsers(directory, [{ userId, username, changedAt: new Date() }]);
      await redis.set(sessionKey(config.REDIS_KEY_PREFIX, sessionId), userId, "EX", 3600);
      const token = await keys.issueAccess({ userId, sessionId, username }, 900);
      return { userId, username, sessionId, token, call: bearer(token) };
    },
    async roomWith(owner, ...others) {
      const { room } = await first.client.createRoom(
        { name: "room", memberIds: others.map((u) => u.userId) },
        owner.call,
      );
      assert.ok(room);
      return room.id;
    },
    async serviceCall(signal) {
      const token = await keys.issueService("edge", 900);
      return { ...bearer(token), ...(signal ? { signal } : {}) };
    },
    startInstance,
    async close() {
      for (const instance of [...instances].reverse()) await instance.close();
      await userApp.close();
      await listener.close();
      await deleteRedisPrefix(first.infra.redis, config.REDIS_KEY_PREFIX);
      await userInfra.close();
      await topo.drop();
      await database.drop();
      await userDatabase.drop();
    },
  };
}

export async function waitUntil(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  await waitFor(() => (check() ? true : undefined), timeoutMs, what);
}

export { bearer, rejectsWith, waitFor };
