/**
 * The tracing preload: every component starts with
 * `node --import tsx --import <this> src/main.ts` (or the built
 * `node --import /app/dist/tracing/register.js dist/main.js`). With
 * OTEL_EXPORTER_OTLP_ENDPOINT unset, it does nothing and loads nothing. Set, it starts the OpenTelemetry SDK
 * (sdk.ts) before the component's modules load, because instrumentations
 * patch a module as it is first loaded: CommonJS files through
 * require-in-the-middle, and ES module imports (the components are ESM, and
 * import ioredis and amqplib as such) through import-in-the-middle's loader
 * hook, registered here with module.register (Node 20.6+), for the
 * instrumented packages only.
 *
 * It reads process.env itself, unlike the rest of the code: it runs before
 * any component's config is read. The variables are the SDK's standard
 * ones; each component's config.ts validates them too (shared/src/config.ts
 * `tracing`), so a bad value stops it with a message naming the variable.
 */
import { register } from "node:module";
import { basename, dirname } from "node:path";

const COMPONENTS = ["edge", "user-svc", "chat-svc", "mail-worker"];

/** The component whose main module this process runs (…/edge/src/main.ts, /app/edge/dist/main.js). */
function componentName(): string {
  const main = process.argv[1];
  const name = main ? basename(dirname(dirname(main))) : "";
  return COMPONENTS.includes(name) ? name : "parley";
}

function protocol(): "http/protobuf" | "http/json" {
  const value = process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (!value || value === "http/protobuf") return "http/protobuf";
  if (value === "http/json") return "http/json";
  process.stderr.write(
    `${componentName()}: OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (got "${value}"); gRPC export is not supported\n`,
  );
  process.exit(1);
}

const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
if (endpoint) {
  register("import-in-the-middle/hook.mjs", import.meta.url, { data: { include: ["ioredis", "amqplib"] } });
  const { startTracing } = await import("./sdk.js");
  startTracing({ serviceName: componentName(), protocol: protocol() });
}
