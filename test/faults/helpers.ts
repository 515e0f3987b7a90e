/**
 * What the fault tests share: the whole system (test/support/system.ts) with
 * a mail worker tuned for tests (1 s digest window, short retries, a known
 * HTTP port), generous sign-up rate limits, control of the machine's
 * RabbitMQ, and "exactly once" bookkeeping over the SMTP server's mails.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import type { ReceivedMail } from "@parley/shared/testing.js";
import { TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { topology } from "@parley/shared/topology.js";
import { connect } from "amqplib";
import { LISTED_MESSAGES } from "../../mail-worker/src/domain/message-notification.js";
import { type ComponentName, freePort, type RunningSystem, startSystem, waitUntil } from "../support/system.js";

export const RETRY_DELAYS = "1s,2s";
export const POOL_SIZE = 5;

export interface FaultSystem {
  system: RunningSystem;
  /** The mail worker's HTTP base URL. */
  workerUrl: string;
  /** Starts the mail worker with the test settings and waits until it consumes. */
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerHealth {
  status: string;
  inFlight: number;
  acked: number;
  deadLettered: number;
  retried: number;
  mailsSent: number;
  openDigests: number;
}

export async function startFaultSystem(): Promise<FaultSystem> {
  const system = await startSystem();
  const workerPort = await freePort();
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const workerEnv = {
    PORT: String(workerPort),
    NOTIFY_DIGEST_WINDOW: "1",
    MAIL_RETRY_DELAYS: RETRY_DELAYS,
    SMTP_MAX_CONNECTIONS: String(POOL_SIZE),
  };
  // Every test here signs up more users from 127.0.0.1 than the per-address limits allow.
  const userEnv = {
    RATE_LIMIT_REGISTER_PER_IP: "10000/3600",
    RATE_LIMIT_LOGIN_PER_IP: "10000/600",
    RATE_LIMIT_VERIFY_OTP_PER_IP: "10000/600",
  };
  const restart = async (name: ComponentName, env: Record<string, string>, ready: () => Promise<boolean>) => {
    await system.stop(name);
    await system.start(name, env);
    await waitUntil(ready, 30_000, () => system.components.get(name)?.output.slice(-20).join("\n") ?? "");
  };
  const listening = (name: ComponentName) => async () =>
    system.components.get(name)?.output.some((l) => l.includes("listening")) === true;

  const fs: FaultSystem = {
    system,
    workerUrl,
    startWorker: () =>
      restart(
        "mail-worker",
        workerEnv,
        async () => (await workerHealth(workerUrl).catch(() => undefined)) !== undefined,
      ),
    async close() {
      await system.close();
      // The worker's retry queues: its test delays are not the default ones the system's topology drops.
      const conn = await connect(TEST_RABBITMQ_URL);
      try {
        const ch = await conn.createChannel();
        const namespace = system.env.AMQP_NAMESPACE ?? "";
        const retries = topology(namespace, { retryDelaysMs: [1_000, 2_000] }).mailRetryQueues;
        for (const q of retries) await ch.deleteQueue(q.name);
      } finally {
        await conn.close();
      }
    },
  };
  await restart("user-svc", userEnv, listening("user-svc"));
  await fs.startWorker();
  return fs;
}

/** The last lines each component logged, for a failed test's message. */
export function componentLogs(fs: FaultSystem, lines = 80): string {
  return [...fs.system.components.values()]
    .map((c) => `--- ${c.name}:\n${c.output.slice(-lines).join("\n")}`)
    .join("\n");
}

/** Runs `body`; if it fails, the error carries the worker's state and the components' recent logs. */
export async function withLogs(fs: FaultSystem, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Error) err.message += `\n${await workerState(fs)}\n${componentLogs(fs)}`;
    throw err;
  }
}

/** The worker's health and its queues' counts, for a failed test's message. */
async function workerState(fs: FaultSystem): Promise<string> {
  const health = await fetch(`${fs.workerUrl}/healthz`)
    .then((r) => r.text())
    .catch((err: unknown) => String(err));
  const t = topology(fs.system.env.AMQP_NAMESPACE ?? "", { retryDelaysMs: [1_000, 2_000] });
  const counts: string[] = [];
  try {
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      for (const q of [t.mailQueue, ...t.mailRetryQueues.map((r) => r.name), t.mailDeadQueue]) {
        const ch = await conn.createChannel();
        const c = await ch.checkQueue(q);
        counts.push(`${q}: ${c.messageCount} ready, ${c.consumerCount} consumers`);
      }
    } finally {
      await conn.close();
    }
  } catch (err) {
    counts.push(String(err));
  }
  return `--- worker health: ${health}\n--- queues:\n${counts.join("\n")}`;
}

/** The worker's /healthz, when it is up and consuming. */
export async function workerHealth(workerUrl: string): Promise<WorkerHealth> {
  const res = await fetch(`${workerUrl}/healthz`);
  if (res.status !== 200) throw new Error(`worker not healthy: ${res.status}`);
  return (await res.json()) as WorkerHealth;
}

/** Waits until the worker has nothing in hand: no delivery in flight or queued, no digest open. */
export async function workerIdle(fs: FaultSystem, timeoutMs = 60_000): Promise<void> {
  const ns = fs.system.env.AMQP_NAMESPACE ?? "";
  const t = topology(ns, { retryDelaysMs: [1_000, 2_000] });
  await waitUntil(async () => {
    const h = await workerHealth(fs.workerUrl).catch(() => undefined);
    if (!h || h.inFlight > 0 || h.openDigests > 0) return false;
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      for (const q of [t.mailQueue, ...t.mailRetryQueues.map((r) => r.name)]) {
        const ch = await conn.createChannel();
        if ((await ch.checkQueue(q)).messageCount > 0) return false;
      }
      return true;
    } finally {
      await conn.close();
    }
  }, timeoutMs);
}

const run = promisify(execFile);

/** Runs rabbitmqctl on the machine's broker. */
export async function rabbitmqctl(...args: string[]): Promise<void> {
  await run("rabbitmqctl", args, { timeout: 120_000 });
}

let brokerStopped = false;

// Whatever happens to the test process, the shared broker must not stay down.
process.on("exit", () => {
  if (brokerStopped) spawnSync("rabbitmqctl", ["start_app"], { timeout: 60_000 });
});

export async function stopBroker(): Promise<void> {
  brokerStopped = true;
  await rabbitmqctl("stop_app");
}

export async function startBroker(): Promise<void> {
  await rabbitmqctl("start_app");
  await rabbitmqctl("await_startup");
  brokerStopped = false;
}

/** Restarts the broker if a test left it stopped (safe to call when it runs). */
export async function ensureBrokerRunning(): Promise<void> {
  if (!brokerStopped) return;
  await startBroker();
}

export const isOtpMail = (m: ReceivedMail) => /^Your Parley code: \d{6}$/.test(m.parsed.subject ?? "");

/** Waits until every expectation has a matching mail; on timeout, says which have none. */
export async function waitForMails(
  smtp: RunningSystem["smtp"],
  expected: readonly { what: string; match: (m: ReceivedMail) => boolean }[],
  timeoutMs = 60_000,
): Promise<void> {
  const missing = () => expected.filter((e) => !smtp.mails.some(e.match));
  const deadline = Date.now() + timeoutMs;
  while (missing().length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `no mail within ${timeoutMs} ms for: ${missing()
          .map((e) => e.what)
          .join("; ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const otpFor = (email: string) => ({
  what: `the OTP for ${email}`,
  match: (m: ReceivedMail) => m.envelopeTo.includes(email) && isOtpMail(m),
});

/** A message notification to `email`: any mail to it but a code or the welcome. */
const isNotificationTo = (email: string) => (m: ReceivedMail) =>
  m.envelopeTo.includes(email) && !isOtpMail(m) && !/^Welcome/.test(m.parsed.subject ?? "");

/**
 * How many messages a notification covers: a digest of several says how many
 * in its subject ("12 new messages in …") and lists the first LISTED_MESSAGES
 * of them; any other notification is about one message.
 */
function messagesCovered(m: ReceivedMail): number {
  const digest = /^(\d+) new messages in /.exec(m.parsed.subject ?? "");
  return digest ? Number(digest[1]) : 1;
}

/** Waits until the notifications to `email` cover `count` messages; on timeout, says how many they cover. */
export async function waitForNotifications(
  smtp: RunningSystem["smtp"],
  email: string,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  const covered = () => smtp.mails.filter(isNotificationTo(email)).reduce((n, m) => n + messagesCovered(m), 0);
  const deadline = Date.now() + timeoutMs;
  while (covered() < count) {
    if (Date.now() > deadline) {
      throw new Error(`the notifications to ${email} cover ${covered()} of ${count} messages after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asserts each address got exactly one OTP mail. */
export function assertOneOtpEach(mails: readonly ReceivedMail[], emails: readonly string[]): void {
  for (const email of emails) {
    const n = mails.filter((m) => m.envelopeTo.includes(email) && isOtpMail(m)).length;
    assert.equal(n, 1, `${email} got ${n} OTP mails`);
  }
}

/**
 * Asserts each message was notified to `email` exactly once: the notifications
 * cover exactly as many messages as were sent, none lists a message another
 * lists too, and the messages no notification lists are exactly as many as
 * the digests say they left out ("…and N more").
 */
export function assertNotifiedOnceEach(mails: readonly ReceivedMail[], email: string, texts: readonly string[]): void {
  const notifications = mails.filter(isNotificationTo(email));
  const covered = notifications.reduce((n, m) => n + messagesCovered(m), 0);
  assert.equal(
    covered,
    texts.length,
    `the notifications to ${email} cover ${covered} messages, ${texts.length} were sent`,
  );
  let listed = 0;
  for (const text of texts) {
    const n = notifications.filter((m) => (m.parsed.text ?? "").includes(text)).length;
    assert.ok(n <= 1, `"${text}" was in ${n} mails to ${email}`);
    listed += n;
  }
  const leftOut = notifications.reduce((n, m) => n + Math.max(0, messagesCovered(m) - LISTED_MESSAGES), 0);
  assert.equal(texts.length - listed, leftOut, `messages neither listed nor counted as more, to ${email}`);
}
