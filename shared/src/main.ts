/**
 * The shared shape of every component's entry point: load config (printing
 * each problem and exiting 1 on failure), start, tell a parent process that
 * it is listening (scripts/start.ts starts the edge only once the services
 * are), and stop cleanly on SIGINT/SIGTERM: first no longer ready (/readyz
 * 503, gRPC health NOT_SERVING), then, after the drain delay that lets a
 * load balancer notice, closed.
 */
import { ConfigError } from "./config.js";
import type { Logger } from "./logger.js";
import { collectProcessMetrics } from "./metrics.js";
import { useBufferUtf8Encoding } from "./protobuf-utf8.js";
import { shutdownTracing } from "./trace-context.js";

export interface Running {
  readonly logger: Logger;
  /**
   * SHUTDOWN_DRAIN_MS: how long the component stays up, not ready, between
   * the signal and close(), so a load balancer that polls /readyz stops
   * sending it work before it stops taking any. Default 0.
   */
  readonly drainMs?: number;
  /** Called first when a stop signal arrives: from then on the component reports itself not ready. */
  drain?(): void;
  close(): Promise<void>;
}

/** What a component sends its parent over an IPC channel, if it was started with one, once it listens. */
export const READY_MESSAGE = "ready";

/** How long after SIGTERM a component that has not finished closing exits anyway, with 1. */
const FORCE_EXIT_MS = 20_000;

export async function runMain(name: string, start: () => Promise<Running>): Promise<void> {
  useBufferUtf8Encoding();
  collectProcessMetrics(name);
  // The channel is for one message; it must not keep the process alive.
  process.channel?.unref();
  let running: Running;
  try {
    running = await start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
    } else {
      process.stderr.write(
        `${name}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exit(1);
  }
  // After the log lines written so far are in the stdout pipe: a parent that prints them (scripts/start.ts)
  // then has them before the message, which comes on another channel.
  if (process.send) process.stdout.write("", () => process.send?.(READY_MESSAGE));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.drain?.();
    const drainMs = running.drainMs ?? 0;
    running.logger.info(
      { signal, drainMs },
      drainMs > 0 ? "not ready; draining before shutting down" : "shutting down",
    );
    const drained = drainMs > 0 ? new Promise<void>((resolve) => setTimeout(resolve, drainMs)) : Promise.resolve();
    drained
      .then(() => {
        if (drainMs > 0) running.logger.info("shutting down");
        // A backstop only: every step of a component's close() that waits on
        // another server is bounded (bounded-step.ts) well within this.
        const force = setTimeout(() => {
          running.logger.error("shutdown took too long; exiting");
          process.exit(1);
        }, FORCE_EXIT_MS);
        force.unref();
        return running.close();
      })
      .then(
        () => 0,
        (err: unknown) => {
          running.logger.error({ err }, "error during shutdown");
          return 1;
        },
      )
      // The spans of the last requests are still in the exporter's buffer (a no-op with tracing off).
      .then(async (code) => {
        await shutdownTracing();
        process.exit(code);
      });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
