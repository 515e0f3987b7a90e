/**
 * What application code needs of OpenTelemetry: the W3C trace context of the
 * work in hand (to store with an outbox event, to send with a call), the
 * context a message or call carried (to continue its trace), spans of our
 * own, and the trace id for log lines. Only @opentelemetry/api is imported
 * here, whose calls do nothing until an SDK registers itself; the SDK is
 * started by the preload (tracing/register.ts) only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, and `tracingEnabled()` lets hot paths
 * skip even the no-op calls when it is not.
 */

import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { within } from "./deadline.js";

/** What the preload (tracing/sdk.ts) leaves on globalThis once the SDK runs; one key for every copy of this module. */
export const TRACING_STATE = Symbol.for("parley.tracing");

export interface TracingState {
  /** Exports the spans still buffered and stops the SDK. */
  shutdown(): Promise<void>;
}

function state(): TracingState | undefined {
  return (globalThis as { [TRACING_STATE]?: TracingState })[TRACING_STATE];
}

/** Whether the OpenTelemetry SDK was started in this process. */
export function tracingEnabled(): boolean {
  return state() !== undefined;
}

/** Exports what is buffered and stops tracing; a no-op when tracing is off. Bounded, as shutdown is. */
export async function shutdownTracing(timeoutMs = 3_000): Promise<void> {
  const s = state();
  if (!s) return;
  await within(
    s.shutdown().catch(() => {}),
    timeoutMs,
  );
}

export { SpanKind };

export const tracer = trace.getTracer("parley");

/** Whether some span is active: work outside any request (background loops) starts no trace of its own. */
export function hasActiveSpan(): boolean {
  return trace.getSpan(context.active()) !== undefined;
}

/**
 * The active context as W3C headers (`traceparent`, and `tracestate` if
 * any): empty when tracing is off or no span is active, so nothing claims
 * a trace that was never recorded.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (tracingEnabled()) propagation.inject(ctx, carrier);
  return carrier;
}

/** Reads headers that may be a Headers object, AMQP's header table or a plain record. */
const headerGetter: TextMapGetter<Headers | Record<string, unknown>> = {
  keys: (carrier) => (carrier instanceof Headers ? [...carrier.keys()] : Object.keys(carrier)),
  get(carrier, key) {
    const value = carrier instanceof Headers ? carrier.get(key) : carrier[key];
    if (value === null || value === undefined) return undefined;
    return Array.isArray(value) ? value.map(String) : String(value);
  },
};

/** The context that `headers` carry (a remote parent), or the root context if they carry none. */
export function extractContext(headers: Headers | Record<string, unknown> | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** Runs `fn` with `ctx` as the active context. */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * Runs `fn` in a new span (child of `opts.parent`, else of the active
 * context), ending it when `fn` settles and recording a throw as an error.
 */
export async function inSpan<T>(
  name: string,
  opts: SpanOptions & { parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const { parent, ...spanOptions } = opts;
  return tracer.startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Names the active (HTTP server) span after the route its request matched, as OpenTelemetry's conventions ask. */
export function nameRequestSpan(method: string, route: string): void {
  const span = trace.getSpan(context.active());
  if (!span) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute("http.route", route);
}

/** For pino's `mixin`: the ids of the active span, so a log line can be found from its trace. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
