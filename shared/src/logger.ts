import { type Logger, pino } from "pino";
import { activeTraceIds, tracingEnabled } from "./trace-context.js";

export type { Logger };

export function createLogger(name: string, level: string): Logger {
  // With tracing on, each line written inside a span names its trace (trace_id, span_id).
  return pino({ name, level, base: { svc: name }, ...(tracingEnabled() ? { mixin: activeTraceIds } : {}) });
}
