/**
 * `npm start` (scripts/start.ts) as a newcomer meets it: with one piece of
 * infrastructure missing it names it, its variable and a command that starts
 * it, without a stack trace; with a component that cannot start, the others
 * are stopped only after they have spoken.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { dropTopology, freePort, randomName } from "@parley/shared/testing.js";
import { topology } from "@parley/shared/topology.js";

const root = new URL("..", import.meta.url).pathname;

function runStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: root,
      // PATH without docker: the machine may have the CLI, and the test is about a machine without an engine.
      env: { ...process.env, PATH: "/nonexistent", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("exit", (code) => resolve({ code, output }));
  });
}

for (const [service, variable, url] of [
  ["PostgreSQL", "DATABASE_URL", (port: number) => `postgres://postgres@127.0.0.1:${port}/parley_user`],
  ["Redis", "REDIS_URL", (port: number) => `redis://127.0.0.1:${port}`],
  ["RabbitMQ", "RABBITMQ_URL", (port: number) => `amqp://guest:guest@127.0.0.1:${port}`],
] as const) {
  test(`npm start with ${service} unreachable names it, ${variable} and a command, and exits 1`, async () => {
    const port = await freePort();
    const { code, output } = await runStart({ [variable]: url(port) });
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`${service} is not reachable at \\S+:${port}\\b.*ECONNREFUSED`));
    assert.match(output, new RegExp(`Point ${variable} at a running ${service}`));
    assert.match(output, /docker compose --profile local up -d --wait local-/);
    assert.match(output, /sudo service \S+ start/);
    assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
    // Nothing was started: the check comes first.
    assert.doesNotMatch(output, /user-svc\s*\|/);
  });
}

test("a component that fails at start stops the others only after they have logged", async (t) => {
  const namespace = randomName("start");
  t.after(() => dropTopology(topology(namespace)));
  const { code, output } = await runStart({
    PATH: process.env.PATH ?? "",
    PORT: "0",
    METRICS_PORT: "0",
    AMQP_NAMESPACE: namespace,
    SMTP_PORT: "not-a-port",
  });
  assert.equal(code, 1, output);
  assert.match(output, /mail-worker\s*\|.*SMTP_PORT must be an integer/);
  // The services were not killed mid-start: each got to say it listens, then shut down on the signal.
  for (const svc of ["user-svc", "chat-svc"]) {
    assert.match(output, new RegExp(`${svc}\\s*\\|.*${svc} gRPC listening`), output);
  }
  assert.match(output, /start\s*\| mail-worker exited before it was ready/);
  assert.ok(
    output.indexOf("stopping the others") > output.lastIndexOf("gRPC listening"),
    "the others are stopped after they have logged",
  );
  assert.doesNotMatch(output, /edge\s*\|/, "the edge is not started after a service failed");
});
