/**
 * `npm start`: runs user-svc, chat-svc, mail-worker and the edge against
 * PostgreSQL, Redis and RabbitMQ at their localhost defaults (any seed
 * variable in the environment overrides them), with each line of output
 * prefixed by its component. The edge starts once both services listen, so it
 * never dials their ports before they are bound (see "Ports" in the README).
 * Ctrl-C stops everything.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { READY_MESSAGE } from "../shared/src/main.js";

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

const env = { ...process.env, JWT_SECRET: process.env.JWT_SECRET ?? devSecret() };
const children: ChildProcess[] = [];
let stopping = false;

/** Starts a component; resolves once it says it listens (runMain's ready message). */
async function start(name: string): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: `${root}${name}`,
    env,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  children.push(child);
  const label = name.padEnd(11);
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${label}| ${line}\n`));
  }
  child.on("exit", (code, signal) => {
    process.stdout.write(`${label}| exited (${signal ?? code})\n`);
    if (!stopping) shutdown(1);
  });
  // A component that exits before it is ready stops everything (above), so this need not watch for it.
  await new Promise<void>((resolve) => {
    child.on("message", (message) => {
      if (message === READY_MESSAGE) resolve();
    });
  });
  child.disconnect();
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

await Promise.all(services.map(start));
await start("edge");
