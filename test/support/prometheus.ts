/**
 * Reads Prometheus' text exposition format (version 0.0.4), as the
 * components' /metrics answer it: `# HELP`/`# TYPE` lines, then one sample
 * per line, `name{label="value",…} value`. prom-client writes but does not
 * parse; this is the small reader the tests need (escapes in label values
 * handled, timestamps ignored).
 */
import assert from "node:assert/strict";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    assert.ok(eq > i, `bad labels in ${line}`);
    const name = text.slice(i, eq).trim();
    assert.equal(text[eq + 1], '"', `unquoted label value in ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        j++;
        value += text[j] === "n" ? "\n" : text[j];
      } else value += text[j];
    }
    assert.ok(j < text.length, `unterminated label value in ${line}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

function parseValue(raw: string): number {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY;
  // Go's parser (Prometheus') takes any case; prom-client writes "Nan".
  if (raw.toLowerCase() === "nan") return Number.NaN;
  const n = Number(raw);
  assert.ok(raw !== "" && !Number.isNaN(n), `bad sample value "${raw}"`);
  return n;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) types.set(type[1] as string, type[2] as string);
      continue;
    }
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace !== -1 && brace < space) {
      const close = line.lastIndexOf("}");
      assert.ok(close > brace, `unterminated labels in ${line}`);
      name = line.slice(0, brace);
      labels = parseLabels(line.slice(brace + 1, close), line);
      rest = line.slice(close + 1).trim();
    } else {
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    assert.match(name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/, `bad metric name in ${line}`);
    samples.push({ name, labels, value: parseValue(rest.split(" ")[0] ?? "") });
  }
  return { samples, types };
}

/** The sum of the samples named `name` whose labels include `match` (0 if there are none). */
export function total(exposition: Exposition, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of exposition.samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Whether any sample is named `name` with labels including `match`. */
export function has(exposition: Exposition, name: string, match: Record<string, string> = {}): boolean {
  return exposition.samples.some((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** GET `url` (a component's /metrics), checked and parsed. */
export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url} answered ${res.status}`);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}
