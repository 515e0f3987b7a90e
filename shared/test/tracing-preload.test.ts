/**
 * The tracing preload (tracing/register.ts) as components run it: with
 * OTEL_EXPORTER_OTLP_ENDPOINT unset it loads no part of the OpenTelemetry SDK
 * and starts nothing; set, it starts the SDK before the main module runs, and
 * names the service after the component whose main module it is.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
const preload = `${root}shared/src/tracing/register.ts`;

/** What a main module sees: whether the SDK's modules were loaded, and whether tracing runs. */
const PROBE = `
import { createRequire } from "node:module";
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("@opentelemetry/sdk-trace"));
const state = globalThis[Symbol.for("parley.tracing")];
process.stdout.write(JSON.stringify({ sdkModules: loaded.length, tracing: state !== undefined }));
if (state) await state.shutdown();
`;

async function probe(env: Record<string, string>): Promise<{ sdkModules: number; tracing: boolean }> {
  // A main module at <dir>/edge/src/main.mjs, as a component's is.
  const dir = await mkdtemp(join(tmpdir(), "parley-preload-"));
  try {
    const main = join(dir, "edge", "src", "main.mjs");
    await run("mkdir", ["-p", join(dir, "edge", "src")]);
    await writeFile(main, PROBE);
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--import", preload, main], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    return JSON.parse(stdout) as { sdkModules: number; tracing: boolean };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("with OTEL_EXPORTER_OTLP_ENDPOINT unset, the preload loads none of the SDK and starts nothing", async () => {
  assert.deepEqual(await probe({}), { sdkModules: 0, tracing: false });
});

test("with OTEL_EXPORTER_OTLP_ENDPOINT set, the SDK runs before the main module", async () => {
  const seen = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
  assert.equal(seen.tracing, true);
  assert.ok(seen.sdkModules > 0);
});

test("an unsupported OTLP protocol stops the process with a message naming the variable", async () => {
  await assert.rejects(
    probe({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
    (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? "", /edge: OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json/);
      return true;
    },
  );
});
