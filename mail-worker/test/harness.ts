/**
 * Starts the worker the way main.ts does, against the real services: a
 * fresh database, a random AMQP namespace, and either the in-process SMTP
 * server or a dev mailbox in a temporary directory. Publishes events the
 * way the outbox relay does.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { connectAmqp } from "@parley/shared/amqp.js";
import { type EventInit, eventSchemas, type RoutingKey } from "@parley/shared/events.js";
import { createLogger } from "@parley/shared/logger.js";
import { connectPostgres, type Sql } from "@parley/shared/postgres.js";
import {
  createTestDatabase,
  dropTopology,
  listening,
  randomName,
  startSmtpServer,
  TEST_RABBITMQ_URL,
  type TestSmtpServer,
} from "@parley/shared/testing.js";
import type { Topology } from "@parley/shared/topology.js";
import { type ConfirmChannel, connect, type GetMessage, type Options } from "amqplib";
import { type AppDeps, type App as BuiltApp, build, workerTopology } from "../src/app.js";
import { type Config, readConfig } from "../src/config.js";
import { createMailTransport, type MailTransport } from "../src/mailer.js";
import { prepareDatabase } from "../src/storage/migrate.js";

export const FROM_ADDRESS = "mailer@parley.test";
export const PUBLIC_URL = "https://chat.parley.test/";
export const UNSUBSCRIBE_URL = "https://mail.parley.test/unsubscribe";

/** The worker as the tests run it: listening on a free port. */
type App = BuiltApp & { readonly port: number };

export interface Harness {
  app: App;
  sql: Sql;
  topology: Topology;
  /** Absent in mailbox mode. */
  smtp: TestSmtpServer | undefined;
  mailboxDir: string | undefined;
  transport: MailTransport;
  /** Publishes like the outbox relay; returns the message id. */
  publish<K extends RoutingKey>(
    key: K,
    payload: EventInit<K>,
    opts?: { messageId?: string; occurredAt?: Date },
  ): Promise<string>;
  /**
   * Makes `memberIds` the room's members in the worker's copy, through
   * room.members as chat-svc would publish it, and waits until the worker has
   * applied the change; returns the membership version to send messages under.
   */
  setMembers(roomId: string, memberIds: readonly string[]): Promise<bigint>;
  /** Publishes arbitrary bytes and properties to the events exchange (or a queue, via the default exchange). */
  publishRaw(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void>;
  /** Waits for a dead-lettered message matching `match`; every dead letter seen is kept in `deadLetters`. */
  waitForDeadLetter(match: (m: GetMessage) => boolean, timeoutMs?: number): Promise<GetMessage>;
  deadLetters: GetMessage[];
  /** Closes the app (not its deps) and starts a new one on the same deps, as a restarted process would. */
  restartApp(overrides?: AppOverrides): Promise<App>;
  /** Another worker instance on the same database and queue (closed by close()). */
  startAnotherApp(overrides?: AppOverrides): Promise<App>;
  /** The config the app runs with. */
  config: Config;
  close(): Promise<void>;
}

export type AppOverrides = Partial<Pick<AppDeps, "digestPollMs" | "digestConcurrency" | "transport">>;

export const JWT_SECRET = "mail-worker-test-secret-0123456789abcdef";

export interface HarnessOptions {
  mode: "smtp" | "mailbox";
  /** MAIL_RETRY_DELAYS; short by default. */
  retryDelays?: string;
  /** NOTIFY_DIGEST_WINDOW in seconds; 1 by default. */
  digestWindow?: number;
  /** Any other configuration variable. */
  env?: Record<string, string>;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const logger = createLogger("mail-worker", process.env.TEST_LOG_LEVEL ?? "silent");
  const db = await createTestDatabase("parley_mail_test");
  await prepareDatabase(db.url);
  const sql = connectPostgres(db.url, { appName: "mail-worker-test" });
  const smtp = opts.mode === "smtp" ? await startSmtpServer() : undefined;
  const mailboxDir = opts.mode === "mailbox" ? await mkdtemp(join(tmpdir(), "parley-mailbox-")) : undefined;
  const namespace = randomName("test");
  const config = readConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    AMQP_NAMESPACE: namespace,
    JWT_SECRET,
    NOTIFY_DIGEST_WINDOW: String(opts.digestWindow ?? 1),
    MAIL_RETRY_DELAYS: opts.retryDelays ?? "200ms,400ms",
    // Past the ladder, at once to the dead-letter queue unless a test says otherwise.
    MAIL_RETRY_FOR: "1ms",
    UNSUBSCRIBE_URL: UNSUBSCRIBE_URL,
    DATABASE_URL: db.url,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    SMTP_HOST: smtp ? "127.0.0.1" : undefined,
    SMTP_PORT: smtp ? String(smtp.port) : undefined,
    SMTP_USER: smtp ? "worker" : undefined,
    SMTP_PASSWORD: smtp ? "secret" : undefined,
    FROM_EMAIL: `Parley Test <${FROM_ADDRESS}>`,
    PUBLIC_URL,
    MAILBOX_DIR: mailboxDir,
    ...opts.env,
  });
  const topology = workerTopology(config);
  const testTopology = { topology, drop: () => dropTopology(topology) };
  const amqp = await connectAmqp(TEST_RABBITMQ_URL, topology, logger);
  await amqp.waitForConnect(); // the topology exists from here on
  const transport = await createMailTransport(config, logger);
  const start = async (overrides: AppOverrides = {}) =>
    listening(await build({ config, logger, sql, amqp, transport, ...overrides }));
  const others: App[] = [];

  const publisher = await connect(TEST_RABBITMQ_URL);
  const ch: ConfirmChannel = await publisher.createConfirmChannel();
  const inspector = await publisher.createChannel();
  const deadLetters: GetMessage[] = [];

  async function publishRaw(exchange: string, routingKey: string, body: Buffer, props: Options.Publish) {
    ch.publish(exchange, routingKey, body, props);
    await ch.waitForConfirms();
  }

  /** The membership each room was last given with setMembers. */
  const rooms = new Map<string, { version: bigint; members: Set<string> }>();
  const harness: Harness = {
    app: await start(),
    sql,
    topology,
    smtp,
    mailboxDir,
    transport,
    deadLetters,
    async publish(key, payload, publishOpts = {}) {
      const schema: DescMessage = eventSchemas[key];
      const messageId = publishOpts.messageId ?? randomUUID();
      const body = Buffer.from(toBinary(schema, create(schema, payload as never)));
      const occurredAt = publishOpts.occurredAt ?? new Date();
      await publishRaw(topology.exchange, key, body, {
        persistent: true,
        messageId,
        type: schema.typeName,
        contentType: "application/x-protobuf",
        timestamp: Math.floor(occurredAt.getTime() / 1000),
        headers: { "x-occurred-at": occurredAt.toISOString() },
      });
      return messageId;
    },
    publishRaw,
    async setMembers(roomId, memberIds) {
      const room = rooms.get(roomId) ?? { version: 0n, members: new Set<string>() };
      rooms.set(roomId, room);
      const wanted = new Set(memberIds);
      const joinedUserIds = [...wanted].filter((id) => !room.members.has(id));
      const leftUserIds = [...room.members].filter((id) => !wanted.has(id));
      if (joinedUserIds.length === 0 && leftUserIds.length === 0) return room.version;
      room.version++;
      room.members = wanted;
      const version = room.version;
      await harness.publish("room.members", { roomId, version, joinedUserIds, leftUserIds });
      await eventually(`room ${roomId} to reach membership version ${version}`, async () => {
        const [row] = await sql<
          { version: string }[]
        >`select version::text from room_membership where room_id = ${roomId}`;
        return row !== undefined && BigInt(row.version) >= version;
      });
      return version;
    },
    async waitForDeadLetter(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = deadLetters.find(match);
        if (seen) return seen;
        const got = await inspector.get(topology.mailDeadQueue, { noAck: true });
        if (got) {
          deadLetters.push(got);
          continue;
        }
        if (Date.now() > deadline) throw new Error(`no matching dead letter within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restartApp(overrides) {
      await harness.app.close();
      harness.app = await start(overrides);
      return harness.app;
    },
    async startAnotherApp(overrides) {
      const app = await start(overrides);
      others.push(app);
      return app;
    },
    config,
    async close() {
      await Promise.all([harness.app.close(), ...others.map((a) => a.close())]);
      await transport.close();
      await publisher.close();
      await amqp.close();
      await sql.end({ timeout: 5 });
      await smtp?.close();
      if (mailboxDir) await rm(mailboxDir, { recursive: true, force: true });
      await testTopology.drop();
      await db.drop();
    },
  };
  return harness;
}

/** Resolves when `check` returns true; polls, failing after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Runs `publish` once the worker is idle, then waits until `n` more
 * deliveries were settled (acked, dead-lettered or retried).
 */
export async function settled(app: BuiltApp, n: number, publish: () => Promise<unknown>): Promise<void> {
  const total = () => {
    const s = app.stats();
    return s.acked + s.deadLettered + s.retried;
  };
  await eventually("the worker to be idle", () => app.stats().inFlight === 0);
  const before = total();
  await publish();
  await eventually(`${n} settled deliveries`, () => total() >= before + n);
}

export interface TestUser {
  userId: string;
  email: string;
  username: string;
}

/** Publishes user.registered and waits for it to be handled: the worker now knows the address. */
export async function registerUser(h: Harness, username: string): Promise<TestUser> {
  const user = { userId: randomUUID(), email: `${username}-${randomUUID()}@example.com`, username };
  await settled(h.app, 1, () => h.publish("user.registered", user));
  return user;
}

/** Mails received for an address, in arrival order. */
export function mailsTo(h: Harness, address: string) {
  return h.smtp?.mails.filter((m) => m.envelopeTo.includes(address)) ?? [];
}

/** Notification mails (not the welcome) received for an address. */
export function notificationsTo(h: Harness, address: string) {
  return mailsTo(h, address).filter((m) => !/^Welcome to Parley/.test(m.parsed.subject ?? ""));
}

/** Resolves once no digest of `userId` is open any more (each was mailed, cancelled or failed). */
export async function digestsSettled(h: Harness, userId: string, timeoutMs = 10_000): Promise<void> {
  await eventually(
    "the user's digests to be settled",
    async () => (await h.sql`select 1 from digests where user_id = ${userId} and status = 'open'`).length === 0,
    timeoutMs,
  );
}
