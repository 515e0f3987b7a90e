/**
 * The observability profile, checked offline: Prometheus scrapes each
 * component where docker-compose.yml has it listen, Grafana's data source is
 * the one the dashboard names, and every series the dashboard queries is one
 * the components register (a renamed metric must not leave a panel empty).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { collectProcessMetrics, registry } from "@parley/shared/metrics.js";
import { parse } from "yaml";

// Every module that declares metrics, so that the registry holds them all.
import "@parley/shared/grpc-server.js";
import "@parley/shared/outbox-relay.js";
import "@parley/shared/postgres-metrics.js";
import "../edge/src/app.js";
import "../chat-svc/src/app.js";
import "../mail-worker/src/app.js";

const root = new URL("..", import.meta.url).pathname;
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");

interface ComposeService {
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}

test("Prometheus scrapes every component on the port compose gives it", () => {
  const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, ComposeService> };
  const config = parse(read("deploy/prometheus/prometheus.yml")) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const targets = Object.fromEntries(
    config.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
  );
  const env = (name: string) => compose.services[name]?.environment ?? {};
  assert.deepEqual(targets, {
    edge: [`edge:${env("edge").PORT}`],
    "user-svc": [`user-svc:${env("user-svc").METRICS_PORT}`],
    "chat-svc": [`chat-svc:${env("chat-svc").METRICS_PORT}`],
    "mail-worker": [`mail-worker:${env("mail-worker").PORT}`],
  });
  for (const name of ["prometheus", "grafana"]) {
    assert.deepEqual(compose.services[name]?.profiles, ["observability"], `${name} is behind the profile`);
  }
  assert.ok(
    compose.services.prometheus?.volumes?.some((v) => v.startsWith("./deploy/prometheus/prometheus.yml:")),
    "Prometheus reads deploy/prometheus/prometheus.yml",
  );
  assert.ok(
    compose.services.grafana?.volumes?.some((v) => v.startsWith("./deploy/grafana/parley-dashboard.json:")),
    "Grafana loads the dashboard",
  );
});

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
}

test("the dashboard queries only series the components register, from the provisioned data source", () => {
  collectProcessMetrics("test");
  const known = new Set(["up"]);
  for (const metric of registry.getMetricsAsArray()) {
    const { name } = metric as unknown as { name: string };
    for (const suffix of ["", "_bucket", "_sum", "_count"]) known.add(`${name}${suffix}`);
  }
  const datasources = parse(read("deploy/grafana/provisioning/datasources/prometheus.yml")) as {
    datasources: { uid: string; url: string }[];
  };
  const uid = datasources.datasources[0]?.uid;
  assert.equal(datasources.datasources[0]?.url, "http://prometheus:9090");

  const dashboard = JSON.parse(read("deploy/grafana/parley-dashboard.json")) as { uid: string; panels: Panel[] };
  const graphs = dashboard.panels.filter((p) => p.type !== "row");
  assert.ok(graphs.length >= 20, `${graphs.length} panels`);
  const queried = new Set<string>();
  for (const panel of graphs) {
    assert.equal(panel.datasource?.uid, uid, `${panel.title}'s data source`);
    assert.ok(panel.targets && panel.targets.length > 0, `${panel.title} has queries`);
    for (const { expr } of panel.targets) {
      for (const name of expr.match(/\b(parley_[a-z0-9_]+|up)\b/g) ?? []) {
        assert.ok(known.has(name), `${panel.title} queries ${name}, which nothing registers`);
        queried.add(name.replace(/_(bucket|sum|count)$/, ""));
      }
    }
  }
  // The main series each have a panel.
  for (const name of [
    "parley_grpc_server_handled_total",
    "parley_http_requests_total",
    "parley_connect_server_handled_total",
    "parley_ws_connections",
    "parley_ws_frames_sent_total",
    "parley_ws_closes_total",
    "parley_ws_fanout_delay_seconds",
    "parley_chat_send_batch_size",
    "parley_outbox_backlog",
    "parley_outbox_oldest_age_seconds",
    "parley_outbox_published_total",
    "parley_mail_deliveries_settled_total",
    "parley_mail_sent_total",
    "parley_mail_pending_digests",
    "parley_postgres_connections",
  ]) {
    assert.ok(queried.has(name), `a panel shows ${name}`);
  }
});
