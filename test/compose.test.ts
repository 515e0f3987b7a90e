/**
 * docker-compose.yml, checked without a Docker engine: `docker-compose config`
 * parses and resolves it, and the resolved file has every part of the system.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

test("docker-compose.yml resolves and runs the whole system", () => {
  const services = execFileSync("docker-compose", ["config", "--services"], { cwd: root, encoding: "utf8" })
    .trim()
    .split("\n")
    .sort();
  assert.deepEqual(services, [
    "chat-svc",
    "edge",
    "mail-worker",
    "mailpit",
    "postgres",
    "rabbitmq",
    "redis",
    "user-svc",
  ]);
  const resolved = execFileSync("docker-compose", ["config"], { cwd: root, encoding: "utf8" });
  for (const component of ["edge", "user-svc", "chat-svc", "mail-worker"]) {
    assert.match(resolved, new RegExp(`COMPONENT: ${component}`), `${component} is built from the repository`);
  }
  assert.match(resolved, /JWT_SECRET: /);
  assert.match(resolved, /SMTP_HOST: mailpit/);
});
