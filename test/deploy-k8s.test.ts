/**
 * deploy/k8s, checked offline: the example overlay rendered (scripts/kustomize.ts,
 * with secrets.env made from its example as an operator would) and every object
 * validated against the Kubernetes API schemas shipped by kubernetes-models.
 */
import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type K8sObject, renderKustomization } from "../scripts/kustomize.js";

const root = new URL("..", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "parley-k8s-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
cpSync(join(root, "deploy/k8s"), scratch, { recursive: true });
const overlay = join(scratch, "overlays/example");
copyFileSync(join(overlay, "secrets.env.example"), join(overlay, "secrets.env"));
const objects = renderKustomization(overlay);

interface Validatable {
  validate(): void;
}

/** Throws when the object does not match its kind's schema. */
async function validate(o: K8sObject): Promise<void> {
  const module = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<
    string,
    new (
      data: unknown,
    ) => Validatable
  >;
  const Model = module[o.kind];
  assert.ok(Model, `no schema for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  resources?: { requests?: { cpu?: string; memory?: string } };
}
const containers = (o: K8sObject | undefined) =>
  (o?.spec as { template: { spec: { containers: Container[] } } } | undefined)?.template.spec.containers ?? [];

test("every rendered object is valid under the Kubernetes schemas", async () => {
  assert.ok(objects.length >= 17, `${objects.length} objects`);
  for (const o of objects) {
    await assert.doesNotReject(validate(o), `${o.kind} ${o.metadata.name}`);
    assert.equal(o.metadata.namespace, "parley", `${o.kind} ${o.metadata.name}'s namespace`);
  }
});

test("the validation refuses an object Kubernetes would refuse", async () => {
  const broken = structuredClone(find("Deployment", "edge")) as K8sObject;
  const [edge] = containers(broken) as [Container & { ports: { containerPort: unknown }[] }];
  edge.ports = [{ containerPort: "http" }];
  await assert.rejects(validate(broken), /containerPort must be integer/);
});

test("each component runs as a Deployment with probes, requests and a disruption budget", () => {
  const expected = { edge: 3, "user-svc": 2, "chat-svc": 2, "mail-worker": 2 };
  for (const [name, replicas] of Object.entries(expected)) {
    const deployment = find("Deployment", name);
    assert.ok(deployment, `${name}'s Deployment`);
    assert.equal((deployment.spec as { replicas: number }).replicas, replicas, `${name}'s replicas`);
    const [c] = containers(deployment);
    assert.ok(c, name);
    assert.equal(c.image, `registry.example.com/parley/${name}:1.0.0`);
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${name}'s requests`);
    // The services are ready by gRPC health; everything is live by /livez, ready by /readyz otherwise.
    if (name.endsWith("-svc")) assert.ok(c.readinessProbe?.grpc, `${name}'s readiness probe is gRPC health`);
    else assert.deepEqual(c.readinessProbe?.httpGet, { path: "/readyz", port: "http" }, `${name}'s readiness probe`);
    const live = c.livenessProbe?.httpGet as { path: string; port: string } | undefined;
    assert.equal(live?.path, "/livez", `${name}'s liveness probe`);
    const annotations = (deployment.spec as { template: { metadata: { annotations?: Record<string, string> } } })
      .template.metadata.annotations;
    assert.equal(annotations?.["prometheus.io/scrape"], "true", `${name} is scraped`);
    const ports = (c as Container & { ports: { name: string; containerPort: number }[] }).ports;
    const scraped = ports.find((p) => p.containerPort === Number(annotations?.["prometheus.io/port"]));
    assert.ok(scraped, `${name} exposes the port Prometheus scrapes`);
    assert.equal(scraped.name, live?.port, `${name}'s /livez is on the port Prometheus scrapes`);
    assert.ok(find("PodDisruptionBudget", name), `${name}'s PodDisruptionBudget`);
  }
  const hpa = find("HorizontalPodAutoscaler", "edge")?.spec as { scaleTargetRef: { name: string } };
  assert.equal(hpa.scaleTargetRef.name, "edge");
});

test("replicas do not migrate; the migration Job migrates each database with its own URL", () => {
  const config = find("ConfigMap", "parley-config") as K8sObject & { data: Record<string, string> };
  assert.equal(config.data.MIGRATE_ON_START, "false");
  const job = find("Job", "parley-migrate");
  assert.ok(job, "the migration Job");
  const steps = (job.spec as { template: { spec: { containers: (Container & { command: string[] })[] } } }).template
    .spec.containers;
  assert.deepEqual(
    steps.map((c) => c.command.join(" ")),
    ["user-svc", "chat-svc", "mail-worker"].map((c) => `node /app/dist/migrate.js ${c}`),
  );
});

test("only the edge (and chat-svc, for user lookups) may reach the gRPC ports", () => {
  type Policy = {
    podSelector: { matchLabels: Record<string, string> };
    ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
  };
  const policies = objects.filter((o) => o.kind === "NetworkPolicy").map((o) => o.spec as Policy);
  const callers = (target: string, port: number, metricsPort: number) => {
    const p = policies.find((x) => x.podSelector.matchLabels["app.kubernetes.io/name"] === target);
    assert.ok(p, `a NetworkPolicy for ${target}`);
    assert.deepEqual(
      p.ingress.flatMap((r) => r.ports.map((x) => x.port)),
      [port, metricsPort],
      "the gRPC port, and the metrics port for Prometheus",
    );
    const grpc = p.ingress.filter((r) => r.ports.some((x) => x.port === port));
    assert.ok(
      grpc.every((r) => r.ports.length === 1 && r.from !== undefined),
      "the gRPC port's rules name their callers",
    );
    return grpc.flatMap((r) => r.from.map((f) => f.podSelector.matchLabels["app.kubernetes.io/name"])).sort();
  };
  assert.deepEqual(callers("user-svc", 50051, 9101), ["chat-svc", "edge"]);
  assert.deepEqual(callers("chat-svc", 50052, 9102), ["edge"]);
});

test("JWT_SECRET and SMTP credentials come from the Secret the overlay generates", () => {
  const secret = find("Secret", "parley-secrets") as K8sObject & { data: Record<string, string> };
  for (const key of ["JWT_SECRET", "SMTP_USER", "SMTP_PASSWORD", "SMTP_HOST"]) assert.ok(key in secret.data, key);
  for (const name of ["edge", "user-svc", "chat-svc", "mail-worker"]) {
    const env = containers(find("Deployment", name))[0]?.env ?? [];
    const jwt = env.find((e) => e.name === "JWT_SECRET") as { valueFrom?: { secretKeyRef?: { name: string } } };
    assert.equal(jwt?.valueFrom?.secretKeyRef?.name, "parley-secrets", `${name}'s JWT_SECRET`);
  }
});

test("the renderer refuses kustomization fields it does not implement", () => {
  const dir = mkdtempSync(join(scratch, "unsupported-"));
  writeFileSync(join(dir, "kustomization.yaml"), "resources: []\npatches:\n  - path: p.yaml\n");
  assert.throws(() => renderKustomization(dir), /does not support: patches/);
});
