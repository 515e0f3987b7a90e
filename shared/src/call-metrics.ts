/**
 * Rate, errors and duration of RPCs, per method and code, as a connect-es
 * interceptor: the gRPC services put it outermost in their chain
 * (grpc-server.ts), the edge in its Connect router. The code is the one the
 * caller gets, so it runs outside the error mapping.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Counter, Histogram } from "prom-client";
import { counter, DURATION_BUCKETS, histogram, secondsSince } from "./metrics.js";

type Labels = "service" | "method" | "code";

/** connect's code names in snake case ("ok", "invalid_argument"), as the edge's error bodies spell them. */
const CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, code) =>
  code === 0 ? "ok" : (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(),
);

export interface CallMetrics {
  /** Records one finished call. */
  record(method: DescMethod, code: Code | 0, seconds: number): void;
  /** Records every call that passes through it. */
  readonly interceptor: Interceptor;
}

interface Bound {
  handled: Counter.Internal;
  seconds: Histogram.Internal<Labels>;
}

/**
 * `parley_<protocol>_server_handled_total{service,method,code}` and
 * `parley_<protocol>_server_handling_seconds{service,method,code}`. Call once
 * per process and protocol (the series are registered when called).
 */
export function createCallMetrics(protocol: "grpc" | "connect"): CallMetrics {
  const handled = counter<Labels>({
    name: `parley_${protocol}_server_handled_total`,
    help: `${protocol} calls completed, by method and the status code returned`,
    labelNames: ["service", "method", "code"],
  });
  const seconds = histogram<Labels>({
    name: `parley_${protocol}_server_handling_seconds`,
    help: `How long ${protocol} calls took, from the request to the last response message, by method and code`,
    labelNames: ["service", "method", "code"],
    buckets: DURATION_BUCKETS,
  });
  // Children bound once per method and code: a call costs no label lookup.
  const bound = new Map<DescMethod, (Bound | undefined)[]>();
  const children = (method: DescMethod, code: number): Bound => {
    let byCode = bound.get(method);
    if (!byCode) {
      byCode = [];
      bound.set(method, byCode);
    }
    let b = byCode[code];
    if (!b) {
      const labels = { service: method.parent.typeName, method: method.name, code: CODE_NAMES[code] ?? String(code) };
      b = { handled: handled.labels(labels), seconds: seconds.labels(labels) };
      byCode[code] = b;
    }
    return b;
  };
  const record = (method: DescMethod, code: number, s: number) => {
    const b = children(method, code);
    b.handled.inc();
    b.seconds.observe(s);
  };
  const codeOf = (err: unknown) => (err instanceof ConnectError ? err.code : ConnectError.from(err).code);

  const interceptor: Interceptor = (next) => async (req) => {
    const start = performance.now();
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      record(req.method, codeOf(err), secondsSince(start));
      throw err;
    }
    if (!res.stream) {
      record(req.method, 0, secondsSince(start));
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        let code = 0;
        try {
          yield* messages;
        } catch (err) {
          code = codeOf(err);
          throw err;
        } finally {
          // A stream the caller left ends here too (return()): it was cancelled, not ok.
          record(req.method, code === 0 && req.signal.aborted ? Code.Canceled : code, secondsSince(start));
        }
      })(),
    };
  };
  return { record, interceptor };
}
