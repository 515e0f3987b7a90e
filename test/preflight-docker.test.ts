/**
 * `npm start`'s Docker path (scripts/preflight.ts) on a machine whose Docker
 * engine is a stand-in: a `docker` on PATH that records how it was called
 * and, for `compose up`, brings the missing service up the way the real one
 * would from the host's point of view: a port that starts answering (here a
 * TCP forwarder to the machine's real Redis). What is checked is Parley's
 * side: the engine is asked for, the missing services and the mail inbox are
 * started from the `local` profile in the repository, and start-up goes on
 * once they answer, or stops naming them when compose fails.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, TEST_REDIS_URL } from "@parley/shared/testing.js";
import { dockerEngineAvailable, preflight } from "../scripts/preflight.js";

const root = new URL("..", import.meta.url).pathname;
let dir: string;
let log: string;
let pidFile: string;
const savedPath = process.env.PATH;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "parley-fake-docker-"));
  log = join(dir, "calls.log");
  pidFile = join(dir, "forwarder.pid");
  const redis = new URL(TEST_REDIS_URL);
  // Listens on FAKE_DOCKER_PORT and forwards every connection to the real Redis.
  writeFileSync(
    join(dir, "forwarder.mjs"),
    `import { writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
createServer((c) => { const u = connect(${Number(redis.port || 6379)}, ${JSON.stringify(redis.hostname)}); c.pipe(u).pipe(c); c.on("error", () => u.destroy()); u.on("error", () => c.destroy()); })
  .listen(Number(process.env.FAKE_DOCKER_PORT), "127.0.0.1", () => writeFileSync(${JSON.stringify(join(dir, "listening"))}, ""));
`,
  );
  writeFileSync(
    join(dir, "docker"),
    `#!/bin/sh
echo "$PWD: $*" >> "${log}"
case "$1" in
  info) exit "\${FAKE_DOCKER_INFO_EXIT:-0}" ;;
  compose)
    [ "\${FAKE_DOCKER_COMPOSE_EXIT:-0}" = 0 ] || exit "$FAKE_DOCKER_COMPOSE_EXIT"
    rm -f "${join(dir, "listening")}"
    "${process.execPath}" "${join(dir, "forwarder.mjs")}" > /dev/null 2>&1 &
    echo $! > "${pidFile}"
    # Like --wait: back only once the service answers (a fixed pause lost the race on a loaded machine).
    for _ in $(seq 200); do [ -f "${join(dir, "listening")}" ] && exit 0; sleep 0.05; done
    exit 1 ;;
esac
exit 2
`,
  );
  chmodSync(join(dir, "docker"), 0o755);
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
});

after(() => {
  process.env.PATH = savedPath;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8")));
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

const calls = () => readFileSync(log, "utf8").trim().split("\n");

function env(redisPort: number): NodeJS.ProcessEnv {
  return { REDIS_URL: `redis://127.0.0.1:${redisPort}`, FAKE_DOCKER_PORT: String(redisPort) };
}

test("an engine is present only when `docker info` answers", () => {
  process.env.FAKE_DOCKER_INFO_EXIT = "0";
  assert.equal(dockerEngineAvailable(), true);
  process.env.FAKE_DOCKER_INFO_EXIT = "1";
  assert.equal(dockerEngineAvailable(), false, "a CLI without a running engine");
  process.env.PATH = "/nonexistent";
  assert.equal(dockerEngineAvailable(), false, "no CLI at all");
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
  delete process.env.FAKE_DOCKER_INFO_EXIT;
});

test("with an engine, the missing service and the inbox start from the local profile, and start-up goes on", async () => {
  writeFileSync(log, "");
  const port = await freePort();
  Object.assign(process.env, env(port));
  const lines: string[] = [];
  try {
    const problem = await preflight({ ...process.env, ...env(port) }, { root, log: (l) => lines.push(l) });
    assert.equal(problem, undefined);
  } finally {
    delete process.env.FAKE_DOCKER_PORT;
    delete process.env.REDIS_URL;
  }
  assert.deepEqual(calls(), [
    `${root.replace(/\/$/, "")}: info --format {{.ServerVersion}}`,
    `${root.replace(/\/$/, "")}: compose --profile local up -d --wait local-redis local-mailpit`,
  ]);
  assert.deepEqual(lines, ["starting Redis from docker-compose.yml (profile local)"]);
});

test("when compose fails, start-up stops and names what is still missing", async () => {
  writeFileSync(log, "");
  const port = await freePort();
  process.env.FAKE_DOCKER_COMPOSE_EXIT = "3";
  try {
    const problem = await preflight(env(port), { root, log: () => {} });
    assert.match(problem ?? "", new RegExp(`Redis is not reachable at redis://127\\.0\\.0\\.1:${port}`));
    assert.match(problem ?? "", /Point REDIS_URL at a running Redis/);
    assert.match(problem ?? "", /docker compose up failed \(exit 3\)\.$/);
  } finally {
    delete process.env.FAKE_DOCKER_COMPOSE_EXIT;
  }
  assert.equal(calls().length, 2);
});
