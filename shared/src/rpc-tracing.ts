/**
 * Spans for gRPC calls, as connect-es interceptors: one on the caller's
 * transport (the edge and chat-svc call through connect-node's gRPC
 * transport over HTTP/2, which no OpenTelemetry instrumentation covers),
 * which sends its span's W3C context in the request headers, and one on
 * the serving side (grpcHandlers), which continues it. Both are added only
 * when tracing is on (`rpcTracing`).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { extractContext, tracer, tracingEnabled } from "./trace-context.js";

/** Codes that mean the server failed, not the caller (OpenTelemetry's gRPC conventions). */
const SERVER_FAULTS = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

type Call = Parameters<Parameters<Interceptor>[0]>[0];

function attributes(req: Call) {
  return { "rpc.system": "grpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name };
}

function spanName(req: Call): string {
  return `${req.service.typeName}/${req.method.name}`;
}

/** Ends `span` with the call's outcome; for a server stream, once it is set up, not when it ends. */
async function endWith<T>(span: Span, kind: SpanKind, work: Promise<T>): Promise<T> {
  try {
    const res = await work;
    span.setAttribute("rpc.grpc.status_code", 0);
    return res;
  } catch (err) {
    const ce = ConnectError.from(err);
    span.setAttribute("rpc.grpc.status_code", ce.code);
    if (kind === SpanKind.CLIENT || SERVER_FAULTS.has(ce.code)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: ce.rawMessage });
    }
    throw err;
  } finally {
    span.end();
  }
}

/** The caller's side: a client span whose context travels in `traceparent`. */
export const traceClientCalls: Interceptor = (next) => (req) => {
  const span = tracer.startSpan(spanName(req), { kind: SpanKind.CLIENT, attributes: attributes(req) });
  const ctx = trace.setSpan(context.active(), span);
  propagation.inject(ctx, req.header, { set: (headers, key, value) => headers.set(key, value) });
  return endWith(
    span,
    SpanKind.CLIENT,
    context.with(ctx, () => next(req)),
  );
};

/** The serving side: a server span, child of the caller's span when the call carried one. */
export const traceServerCalls: Interceptor = (next) => (req) => {
  const span = tracer.startSpan(
    spanName(req),
    { kind: SpanKind.SERVER, attributes: attributes(req) },
    extractContext(req.header),
  );
  return endWith(
    span,
    SpanKind.SERVER,
    context.with(trace.setSpan(context.active(), span), () => next(req)),
  );
};

/** The interceptors to add on `side` when tracing is on; none otherwise. */
export function rpcTracing(side: "client" | "server"): Interceptor[] {
  if (!tracingEnabled()) return [];
  return [side === "client" ? traceClientCalls : traceServerCalls];
}
