/**
 * Renders deploy/k8s the way `kubectl kustomize` does, for the subset of
 * kustomization fields Parley's manifests use, so tests can check them
 * without a kustomize binary (no npm package renders kustomize). Any other
 * field is refused rather than silently ignored:
 *   resources (files and directories), namespace, images, replicas, and
 *   secretGenerator with envs/literals and disableNameSuffixHash.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
  secretGenerator?: {
    name: string;
    envs?: string[];
    literals?: string[];
    options?: { disableNameSuffixHash?: boolean };
  }[];
}

const SUPPORTED = new Set(["resources", "namespace", "images", "replicas", "secretGenerator"]);

function envPairs(text: string): [string, string][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const eq = l.indexOf("=");
      if (eq < 1) throw new Error(`not KEY=value: "${l}"`);
      return [l.slice(0, eq), l.slice(eq + 1)];
    });
}

function podSpec(
  o: K8sObject,
): { containers?: { image?: string }[]; initContainers?: { image?: string }[] } | undefined {
  const spec = o.spec as { template?: { spec?: object }; jobTemplate?: { spec?: { template?: { spec?: object } } } };
  return (spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec) as ReturnType<typeof podSpec>;
}

function retag(image: string, rule: NonNullable<Kustomization["images"]>[number]): string | undefined {
  const name = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  if (name !== rule.name) return undefined;
  const base = rule.newName ?? name;
  if (rule.digest) return `${base}@${rule.digest}`;
  const tag = rule.newTag ?? /:([^/:@]*)$/.exec(image.replace(/@.*$/, ""))?.[1];
  return tag ? `${base}:${tag}` : base;
}

/** The objects `kubectl kustomize <dir>` would print, in resource order, generated Secrets last. */
export function renderKustomization(dir: string): K8sObject[] {
  const k = (parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) ?? {}) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unknown.length > 0) throw new Error(`${dir}: kustomization fields this renderer does not support: ${unknown}`);

  const objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) {
      objects.push(...renderKustomization(path));
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
      const value = doc.toJS() as K8sObject | null;
      if (value) objects.push(value);
    }
  }
  for (const gen of k.secretGenerator ?? []) {
    if (gen.options?.disableNameSuffixHash !== true) {
      throw new Error(`${dir}: secretGenerator ${gen.name} needs options.disableNameSuffixHash: true here`);
    }
    const pairs = [
      ...(gen.envs ?? []).flatMap((f) => envPairs(readFileSync(join(dir, f), "utf8"))),
      ...envPairs((gen.literals ?? []).join("\n")),
    ];
    const data = Object.fromEntries(pairs.map(([key, v]) => [key, Buffer.from(v).toString("base64")]));
    objects.push({ apiVersion: "v1", kind: "Secret", metadata: { name: gen.name }, type: "Opaque", data });
  }
  for (const o of objects) {
    if (k.namespace) o.metadata.namespace = k.namespace;
    const pod = podSpec(o);
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      for (const rule of k.images ?? []) {
        const image = c.image && retag(c.image, rule);
        if (image) c.image = image;
      }
    }
    const replicas = k.replicas?.find((r) => r.name === o.metadata.name);
    if (replicas && ["Deployment", "StatefulSet", "ReplicaSet"].includes(o.kind)) {
      (o.spec as { replicas?: number }).replicas = replicas.count;
    }
  }
  return objects;
}
