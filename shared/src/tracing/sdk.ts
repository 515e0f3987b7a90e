/**
 * The OpenTelemetry SDK as every component runs it when tracing is on:
 * spans batched and exported over OTLP/HTTP (protobuf, or JSON with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json), W3C trace context propagation,
 * and the instrumentations of what the components use that has no span of
 * its own: HTTP (the edge's REST, Connect and WebSocket upgrades), amqplib
 * (publish and consume) and ioredis. gRPC calls are traced by Parley's own
 * interceptors (trace-context.ts): the edge calls the services through
 * connect-node, which no instrumentation covers. The standard OTEL_*
 * variables (endpoint, headers, sampler, batch delays, resource attributes)
 * are read by the SDK itself.
 *
 * Only the preload (register.ts) imports this module, and only when tracing
 * is on: with it off, none of the SDK is loaded.
 */
import { OTLPTraceExporter as OtlpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { AmqplibInstrumentation } from "@opentelemetry/instrumentation-amqplib";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { TRACING_STATE, type TracingState } from "../trace-context.js";

const PROBE_PATHS = new Set(["/healthz", "/livez", "/readyz", "/metrics"]);

export type OtlpProtocol = "http/protobuf" | "http/json";

export function startTracing(opts: { serviceName: string; protocol: OtlpProtocol }): TracingState {
  const exporter = opts.protocol === "http/json" ? new OtlpJsonExporter() : new OtlpProtobufExporter();
  const provider = new NodeTracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) override the component's name.
    resource: defaultResource()
      .merge(resourceFromAttributes({ "service.name": opts.serviceName }))
      .merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes would bury the requests worth a trace.
        ignoreIncomingRequestHook: (req) => PROBE_PATHS.has((req.url ?? "").split("?")[0] ?? ""),
        // The OTLP exporter's own requests would each start a trace of their own.
        ignoreOutgoingRequestHook: () => true,
      }),
      new AmqplibInstrumentation(),
      // Redis calls outside any request (the edge's presence sweeps, rate limits) are noise as root spans.
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  const state: TracingState = { shutdown: () => provider.shutdown() };
  (globalThis as { [TRACING_STATE]?: TracingState })[TRACING_STATE] = state;
  return state;
}
