/**
 * `npm start`: runs user-svc, chat-svc, mail-worker and the edge against
 * PostgreSQL, Redis and RabbitMQ at their localhost defaults (any seed
 * variable in the environment overrides them), with each line of output
 * prefixed by its component. The edge starts once both services listen, so it
 * never dials their ports before they are bound (see "Ports" in the README).
 * Ctrl-C stops everything.
 *
 * First it checks PostgreSQL, Redis and RabbitMQ (scripts/preflight.ts): it
 * starts the missing ones with Docker when an engine answers, otherwise it names
 * each with its variable and a command that starts it, and exits 1. A component
 * that fails to start stops the others only once every one started alongside it
 * is either ready or has failed too, so each has logged why.
 *
 * `npm start -- --watch` runs each component under `node --watch`, which
 * restarts it when a file it imported (its own sources, shared/) changes.
 * node --watch keeps no IPC channel to the component, so in watch mode the
 * edge waits for the services' gRPC ports to accept connections instead.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { READY_MESSAGE } from "../shared/src/main.js";
import { preflight, probe } from "./preflight.js";
import { TRACING_PRELOAD } from "./tracing-preload.js";

const root = new URL("..", import.meta.url).pathname;
const services = ["user-svc", "chat-svc", "mail-worker"] as const;

// Tokens must verify in every component, so they share one secret. A secret
// generated on first start is kept in .dev-jwt-secret (git-ignored) so that
// restarts do not sign everyone out; production passes JWT_SECRET instead.
function devSecret(): string {
  const file = `${root}.dev-jwt-secret`;
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

const { values: flags } = parseArgs({ options: { watch: { type: "boolean", default: false } } });
const env: NodeJS.ProcessEnv = { ...process.env, JWT_SECRET: process.env.JWT_SECRET ?? devSecret() };
const children: ChildProcess[] = [];
let stopping = false;

/**
 * Starts a component; resolves once it says it listens (runMain's ready message),
 * rejects if it exits before that.
 */
async function start(name: string): Promise<void> {
  // The tracing preload starts OpenTelemetry before the component's modules load; it does nothing
  // unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const run = ["--import", "tsx", "--import", `${root}${TRACING_PRELOAD.source}`, "src/main.ts"];
  const args = flags.watch ? ["--watch", ...run] : run;
  const child = spawn(process.execPath, args, {
    cwd: `${root}${name}`,
    env,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  children.push(child);
  const label = name.padEnd(11);
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${label}| ${line}\n`));
  }
  let ready = false;
  child.on("exit", (code, signal) => {
    process.stdout.write(`${label}| exited (${signal ?? code})\n`);
    // Before it is ready, the caller decides (after its siblings have settled).
    if (ready && !stopping) shutdown(1);
  });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", () => reject(new Error(`${name} exited before it was ready`)));
    if (flags.watch) return void waitForPorts(name).then(resolve);
    child.on("message", (message) => {
      if (message === READY_MESSAGE) resolve();
    });
  });
  ready = true;
  if (child.connected) child.disconnect();
}

/** Watch mode's readiness: the service's gRPC port (as the edge will dial it) accepts connections. */
async function waitForPorts(name: string): Promise<void> {
  const target = {
    "user-svc": env.USER_SVC_URL ?? "http://127.0.0.1:50051",
    "chat-svc": env.CHAT_SVC_URL ?? "http://127.0.0.1:50052",
  }[name];
  if (target === undefined) return;
  while ((await probe(target, 80, 500)) !== undefined) await new Promise((r) => setTimeout(r, 250));
}

/** Starts components side by side; if any fails, stops everything once all of them have settled. */
async function startAll(names: readonly string[]): Promise<void> {
  const results = await Promise.allSettled(names.map(start));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length === 0) return;
  // A ready message can be handled before the output its sender wrote just before it, in the same turn of
  // the event loop; after this turn's I/O, the components' last lines are printed before ours.
  await new Promise((resolve) => setImmediate(resolve));
  for (const err of failed) process.stdout.write(`start      | ${err.message}\n`);
  process.stdout.write("start      | stopping the others\n");
  shutdown(1);
  await new Promise(() => {});
}

function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  let remaining = children.filter((c) => c.exitCode === null).length;
  if (remaining === 0) process.exit(code);
  for (const c of children) {
    c.once("exit", () => {
      remaining--;
      if (remaining <= 0) process.exit(code);
    });
  }
}

process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

const problem = await preflight(env, { root, log: (line) => process.stdout.write(`start      | ${line}\n`) });
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await startAll(services);
await startAll(["edge"]);
