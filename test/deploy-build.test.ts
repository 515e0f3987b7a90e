/**
 * What the image runs: `npm run build`'s bundles started with plain node (no
 * tsx) against the real PostgreSQL, Redis and RabbitMQ; the health probe the
 * image's HEALTHCHECK and compose use; the migrate command and
 * MIGRATE_ON_START=false.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { before, test } from "node:test";
import { promisify } from "node:util";
import { ConfigError } from "@parley/shared/config.js";
import {
  createTestDatabase,
  createTestTopology,
  freePort,
  randomName,
  TEST_POSTGRES_URL,
} from "@parley/shared/testing.js";
import postgres from "postgres";
import { readConfig as readChatConfig } from "../chat-svc/src/config.js";
import { readConfig as readMailConfig } from "../mail-worker/src/config.js";
import { buildAll, bundles } from "../scripts/build.js";
import { readConfig as readUserConfig } from "../user-svc/src/config.js";
import { type RunningSystem, startSystem, waitUntil } from "./support/system.js";
import { signUp } from "./support/users.js";

const root = new URL("..", import.meta.url).pathname;
const run = promisify(execFile);
const SECRET = "0123456789abcdef0123456789abcdef0123";

/** Runs a built script; resolves with its exit code and output (a non-zero exit is not an error here). */
async function node(script: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

async function migrationsApplied(databaseUrl: string): Promise<number | undefined> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ t: string | null }[]>`select to_regclass('drizzle.__drizzle_migrations')::text as t`;
    if (!row?.t) return undefined;
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    return count?.n;
  } finally {
    await sql.end();
  }
}

function journalEntries(component: string): number {
  const journal = JSON.parse(readFileSync(`${root}${component}/drizzle/meta/_journal.json`, "utf8")) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

before(async () => {
  await buildAll();
});

test("the bundles import no TypeScript at run time", () => {
  for (const { outfile } of bundles) {
    const code = readFileSync(`${root}${outfile}`, "utf8");
    assert.doesNotMatch(code, /from "tsx|\.ts"\)/, `${outfile} loads TypeScript`);
    assert.doesNotMatch(code, /from "@parley\//, `${outfile} leaves workspace code to tsx`);
  }
});

test("MIGRATE_ON_START is validated in every component that owns a database", () => {
  for (const read of [readUserConfig, readChatConfig, readMailConfig]) {
    assert.equal(read({ JWT_SECRET: SECRET }).MIGRATE_ON_START, true);
    assert.equal(read({ JWT_SECRET: SECRET, MIGRATE_ON_START: "false" }).MIGRATE_ON_START, false);
    assert.throws(
      () => read({ JWT_SECRET: SECRET, MIGRATE_ON_START: "no" }),
      (err: unknown) =>
        err instanceof ConfigError && err.problems.includes('MIGRATE_ON_START must be "true" or "false" (got "no")'),
    );
  }
});

test("the built migrate command creates a missing database and applies every migration", async (t) => {
  const name = randomName("deploy_migrate");
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  t.after(async () => {
    const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });
  const first = await node("dist/migrate.js", ["chat-svc"], { DATABASE_URL: url.toString() });
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, new RegExp(`chat-svc: .*/${name} is up to date`));
  assert.equal(await migrationsApplied(url.toString()), journalEntries("chat-svc"));
  const again = await node("dist/migrate.js", ["chat-svc"], { DATABASE_URL: url.toString() });
  assert.equal(again.code, 0, again.out);

  const several = await node("dist/migrate.js", ["user-svc", "chat-svc"], { DATABASE_URL: url.toString() });
  assert.equal(several.code, 2);
  assert.match(several.out, /DATABASE_URL names one database/);
  const unknown = await node("dist/migrate.js", ["edge"], {});
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /unknown component "edge"/);
  const down = await node("dist/migrate.js", ["user-svc"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/x" });
  assert.equal(down.code, 1);
  assert.match(down.out, /user-svc: could not migrate postgres:\/\/postgres@127\.0\.0\.1:1\/x \(DATABASE_URL\)/);
});

async function startedUntil(child: ChildProcess, pattern: RegExp): Promise<string[]> {
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => lines.push(line));
  }
  await waitUntil(
    () => lines.some((l) => pattern.test(l)) || child.exitCode !== null,
    30_000,
    () => lines.join("\n"),
  );
  return lines;
}

test("with MIGRATE_ON_START=false a built service starts on its database without migrating it", async (t) => {
  const db = await createTestDatabase("deploy_nomigrate");
  const topo = createTestTopology();
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: `${root}user-svc`,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_PORT: "0",
      JWT_SECRET: SECRET,
      DATABASE_URL: db.url,
      AMQP_NAMESPACE: topo.topology.namespace,
      MIGRATE_ON_START: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await Promise.all([db.drop(), topo.drop()]);
  });
  const lines = await startedUntil(child, /gRPC listening/);
  assert.equal(child.exitCode, null, lines.join("\n"));
  assert.equal(await migrationsApplied(db.url), undefined, "user-svc migrated its database at start");
});

test("the built components run the whole system, and the health probe sees each one", async (t) => {
  let system: RunningSystem | undefined;
  t.after(() => system?.close());
  system = await startSystem({ built: true });
  // A sign-up crosses edge → user-svc → outbox → RabbitMQ → mail-worker → SMTP, templates included.
  await signUp(system, randomName("built").replaceAll("-", "_").slice(0, 24));

  const { ports } = system;
  // The edge's OpenAPI document and reference read files beside the bundle and from node_modules.
  for (const path of ["/api/openapi.json", "/api/docs", "/api/docs/docs.js", "/api/docs/swagger-ui-bundle.js"]) {
    const res = await fetch(`http://127.0.0.1:${ports.edge}${path}`);
    assert.equal(res.status, 200, path);
    assert.ok((await res.arrayBuffer()).byteLength > 100, path);
  }
  for (const target of [
    `grpc://127.0.0.1:${ports.user}`,
    `grpc://127.0.0.1:${ports.chat}`,
    `http://127.0.0.1:${ports.mail}/readyz`,
    `http://127.0.0.1:${ports.edge}/readyz`,
    `http://127.0.0.1:${ports.userMetrics}/readyz`,
    `http://127.0.0.1:${ports.chatMetrics}/readyz`,
  ]) {
    const probe = await node("dist/health-probe.js", [target], {});
    assert.equal(probe.code, 0, `${target}: ${probe.out}`);
  }
  const closed = await freePort();
  const refused = await node("dist/health-probe.js", [`grpc://127.0.0.1:${closed}`], {});
  assert.equal(refused.code, 1);
  assert.match(refused.out, /unhealthy: .*UNAVAILABLE/);
  const unknown = await node("dist/health-probe.js", [`grpc://127.0.0.1:${ports.user}/no.such.Service`], {});
  assert.equal(unknown.code, 1);
  const missing = await node("dist/health-probe.js", [`http://127.0.0.1:${ports.edge}/no-such-page`], {});
  assert.equal(missing.code, 1);
  assert.match(missing.out, /answers HTTP 404/);
});
