/**
 * docker-compose.yml, checked without a Docker engine: `docker-compose config`
 * parses and resolves it, and the resolved file has every part of the system.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

const resolve = (...args: string[]) =>
  execFileSync("docker-compose", ["config", ...args], { cwd: root, encoding: "utf8" });

interface Published {
  service: string;
  /** Empty: every interface. */
  hostIp: string;
  port: string;
}

/**
 * Every port the resolved file publishes. docker-compose writes a port with a
 * host address in the short form ("127.0.0.1:50051:50051/tcp") and one
 * without in the long form ("- published: 3000" / "  target: 3000").
 */
function publishedPorts(resolved: string): Published[] {
  const found: Published[] = [];
  let section = "";
  let service = "";
  let inPorts = false;
  let item: Record<string, string> | undefined;
  const flush = () => {
    if (item?.published) found.push({ service, hostIp: item.host_ip ?? "", port: item.published });
    item = undefined;
  };
  for (const line of resolved.split("\n")) {
    const top = /^(\S[^:]*):/.exec(line);
    if (top?.[1]) {
      section = top[1];
      continue;
    }
    if (section !== "services") continue;
    const name = /^ {2}(\S[^:]*):$/.exec(line);
    if (name?.[1]) {
      flush();
      service = name[1];
      inPorts = false;
      continue;
    }
    if (/^ {4}\S/.test(line) && !line.startsWith("    - ")) {
      flush();
      inPorts = line === "    ports:";
      continue;
    }
    if (!inPorts) continue;
    const start = /^ {4}- (.*)$/.exec(line);
    const rest = start?.[1] ?? line.trim();
    if (start) flush();
    const short = /^(?:(.+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(rest);
    if (start && short?.[2]) {
      found.push({ service, hostIp: short[1] ?? "", port: short[2] });
      continue;
    }
    const field = /^(\w+): '?([^']*)'?$/.exec(rest);
    if (field?.[1] && field[2] !== undefined) {
      item ??= {};
      item[field[1]] = field[2];
    }
  }
  flush();
  return found;
}

test("docker-compose.yml resolves and runs the whole system", () => {
  const services = resolve("--services").trim().split("\n").sort();
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
  const resolved = resolve();
  for (const component of ["edge", "user-svc", "chat-svc", "mail-worker"]) {
    assert.match(resolved, new RegExp(`COMPONENT: ${component}`), `${component} is built from the repository`);
  }
  assert.match(resolved, /JWT_SECRET: /);
  assert.match(resolved, /SMTP_HOST: mailpit/);
});

test("docker-compose.yml publishes only the edge beyond localhost; the gRPC ports on 127.0.0.1", () => {
  const ports = publishedPorts(resolve());
  const open = ports.filter((p) => p.hostIp === "" || p.hostIp === "0.0.0.0" || p.hostIp === "::");
  assert.deepEqual(
    open.map((p) => `${p.service}:${p.port}`),
    ["edge:3000"],
  );
  for (const [service, port] of [
    ["user-svc", "50051"],
    ["chat-svc", "50052"],
  ]) {
    assert.deepEqual(
      ports.filter((p) => p.service === service).map((p) => `${p.hostIp}:${p.port}`),
      [`127.0.0.1:${port}`],
      `${service}'s gRPC port`,
    );
  }
});
