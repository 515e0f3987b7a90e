/**
 * The shared shape of every component's entry point: load config (printing
 * each problem and exiting 1 on failure), start, and stop cleanly on
 * SIGINT/SIGTERM.
 */
import { ConfigError } from "./config.js";
import type { Logger } from "./logger.js";
import { useBufferUtf8Encoding } from "./protobuf-utf8.js";

export interface Running {
  readonly logger: Logger;
  close(): Promise<void>;
}

export async function runMain(name: string, start: () => Promise<Running>): Promise<void> {
  useBufferUtf8Encoding();
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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      running.logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, 15_000);
    force.unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
