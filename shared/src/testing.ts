/**
 * Helpers for tests that run against the machine's real PostgreSQL, Redis,
 * RabbitMQ and an in-process SMTP server. Every helper isolates by a fresh,
 * randomly named resource and removes it afterwards, so test files can run
 * in parallel and leave nothing behind.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect } from "amqplib";
import type { Redis } from "ioredis";
import { type ParsedMail, simpleParser } from "mailparser";
import postgres from "postgres";
import { SMTPServer } from "smtp-server";
import type { Component } from "./component.js";
import { errorReason } from "./errors.js";
import { deleteTopology, type Topology, topology } from "./topology.js";

// Test code is the one place besides config.ts that reads the environment:
// where the real services are is a fact of the machine, not of a component.
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const TEST_RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** A built app listening on 127.0.0.1 at `port` (a free one by default), with the port it got. */
export async function listening<A extends Component>(app: A, port = 0): Promise<A & { readonly port: number }> {
  const bound = await app.listen({ host: "127.0.0.1", port });
  return Object.assign(app, { port: bound });
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database; drop() terminates its connections and removes it. */
export async function createTestDatabase(prefix = "parley_test"): Promise<TestDatabase> {
  const name = randomName(prefix);
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

export interface TestTopology {
  topology: Topology;
  drop(): Promise<void>;
}

/** A random AMQP namespace (default retry delays); drop() deletes whatever that topology declares. */
export function createTestTopology(): TestTopology {
  const t = topology(randomName("test"));
  return { topology: t, drop: () => dropTopology(t) };
}

/** Deletes the topology's queues and exchanges from the test broker. */
export async function dropTopology(t: Topology): Promise<void> {
  const conn = await connect(TEST_RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    await deleteTopology(ch, t);
  } finally {
    await conn.close();
  }
}

export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
}

export interface TestSmtpServer {
  port: number;
  mails: ReceivedMail[];
  /** Resolves with the first mail (already received or arriving) matching `match`. */
  waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  /** Makes the server answer every RCPT with `code` until called with undefined. */
  refuse(code: number | undefined): void;
  /** Makes the server answer RCPT TO `address` (only) with `code`, until called with undefined. */
  refuseAddress(address: string, code: number | undefined): void;
  /**
   * While on, every MAIL FROM waits (unanswered) until turned off: a client
   * holds no half-delivered mail then, so a test can kill it at a clean point.
   */
  stall(on: boolean): void;
  /** Sessions waiting in a stalled MAIL FROM right now. */
  stalled(): number;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const received = createRecorder<ReceivedMail>((mails) => `${mails.length} mails received`);
  const mails = received.items;
  let refuseCode: number | undefined;
  const refusedAddresses = new Map<string, number>();
  let stalling = false;
  const held: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(_auth, _session, cb) {
      cb(null, { user: "test" });
    },
    onMailFrom(_address, _session, cb) {
      if (!stalling) return cb();
      held.push(() => cb());
    },
    onRcptTo(address, _session, cb) {
      const code = refusedAddresses.get(address.address.toLowerCase()) ?? refuseCode;
      if (code === undefined) return cb();
      const err = new Error("refused by test") as Error & { responseCode: number };
      err.responseCode = code;
      cb(err);
    },
    onData(stream, session, cb) {
      simpleParser(stream).then(
        (parsed) => {
          const mail = { envelopeTo: session.envelope.rcptTo.map((r) => r.address), parsed };
          received.push(mail);
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    waitFor: (match, timeoutMs = 15_000) => received.next(match, timeoutMs),
    refuse(code) {
      refuseCode = code;
    },
    refuseAddress(address, code) {
      if (code === undefined) refusedAddresses.delete(address.toLowerCase());
      else refusedAddresses.set(address.toLowerCase(), code);
    },
    stall(on) {
      stalling = on;
      if (!on) for (const release of held.splice(0)) release();
    },
    stalled: () => held.length,
    close: () => {
      stalling = false;
      for (const release of held.splice(0)) release();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Deletes every key under a test's random Redis prefix, on a connection of its own. */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  const cleaner = redis.duplicate();
  try {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await cleaner.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== "0");
    if (found.length > 0) await cleaner.del(...found);
  } finally {
    cleaner.disconnect();
  }
}

/** Polls `get` every 20 ms until it returns a value. */
export async function waitFor<T>(
  get: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Awaits a call that must fail with `code` and `reason`; returns the error. */
export async function rejectsWith(call: Promise<unknown>, code: Code, reason: string): Promise<ConnectError> {
  let caught: unknown;
  try {
    await call;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${Code[code]} ${reason}, but the call succeeded`);
  const err = ConnectError.from(caught);
  assert.equal(Code[err.code], Code[code], `${err.message} (${errorReason(err)})`);
  assert.equal(errorReason(err), reason, err.message);
  return err;
}

/** Call options carrying an access token, as the edge forwards it. */
export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}

export interface Recorder<T> {
  readonly items: T[];
  push(item: T): void;
  /** Resolves with the first item (already recorded or arriving) matching `match`. */
  next(match: (item: T) => boolean, timeoutMs?: number): Promise<T>;
}

/** Records what a test client receives and lets the test wait for a particular item. */
export function createRecorder<T>(describe: (items: readonly T[]) => string): Recorder<T> {
  const items: T[] = [];
  const waiters = new Set<{ match: (item: T) => boolean; resolve: (item: T) => void }>();
  return {
    items,
    push(item) {
      items.push(item);
      for (const w of [...waiters]) {
        if (w.match(item)) {
          waiters.delete(w);
          w.resolve(item);
        }
      }
    },
    next(match, timeoutMs = 10_000) {
      const seen = items.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (item: T) => {
            clearTimeout(timer);
            resolve(item);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`nothing matching within ${timeoutMs} ms; ${describe(items)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

/** A port nothing listens on right now (for a server a test starts later, or one that is down). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a repository script (`scripts/admin.ts`, …) through tsx with only PATH and `env`; a failure is a result, not a throw. */
export async function runScript(
  root: string,
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<ScriptRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as ScriptRun;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
