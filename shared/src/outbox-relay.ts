/**
 * The outbox relay: publishes committed outbox rows (outbox.ts) to RabbitMQ
 * with publisher confirms and deletes them only once the broker has
 * confirmed. A broker outage delays events; a crash between confirm and
 * delete re-publishes, which consumers absorb by event id.
 */

import type { Writable } from "node:stream";
import type { ConfirmChannel } from "amqplib";
import type { RecoveringChannelModel } from "./amqp.js";
import { createBackoff } from "./backoff.js";
import { boundedStep } from "./bounded-step.js";
import type { Logger } from "./logger.js";
import { counter, histogram, SIZE_BUCKETS } from "./metrics.js";
import { OUTBOX_NOTIFY_CHANNEL } from "./outbox.js";
import { pipelinedTransaction } from "./pipelined-transaction.js";
import type { Sql } from "./postgres.js";
import { createStopSignal } from "./stop-signal.js";
import type { Topology } from "./topology.js";
import { extractContext, runInContext, tracingEnabled } from "./trace-context.js";

const published = counter({
  name: "parley_outbox_published_total",
  help: "Outbox events published to RabbitMQ, confirmed by the broker and deleted from the outbox",
});
const publishBatches = histogram({
  name: "parley_outbox_publish_batch_size",
  help: "Events per relayed batch (one confirm round and one delete each)",
  buckets: SIZE_BUCKETS,
});
const relayFailures = counter({
  name: "parley_outbox_relay_failures_total",
  help: "Relay batches that failed (broker or database away, confirms timed out) and will be retried",
});

/**
 * amqplib hands each publish to the socket as a write of its own (a system
 * call each, and the broker woken for each). Corked for the duration of a
 * batch, the socket sends them all in one; it is uncorked once amqplib has
 * passed them on. amqplib's muxer does that in a setImmediate it schedules
 * only when the channel's buffer turns readable, a tick after the publishes,
 * so after an immediate scheduled now: uncorking one turn of the loop later
 * is what lets it write into the corked socket (one immediate uncorked
 * first, and every publish went out alone).
 */
function corkConnection(ch: ConfirmChannel): () => void {
  const stream = (ch as unknown as { connection?: { stream?: Partial<Writable> } }).connection?.stream;
  if (typeof stream?.cork !== "function" || typeof stream.uncork !== "function") return () => {};
  const { uncork } = stream;
  stream.cork();
  return () => {
    setImmediate(() => setImmediate(() => uncork.call(stream)));
  };
}

// Selected as text: drizzle replaces the driver's timestamp and json parsers
// on any client it wraps, so their runtime types depend on who else uses `sql`.
interface OutboxRow {
  position: string;
  id: string;
  routing_key: string;
  type: string;
  payload: Buffer;
  headers: string;
  occurred_at: string;
}

/** `promise`, unless `ms` pass first or `abort` fires first: then an error. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string, abort?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let aborted = () => {};
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    aborted = () => reject(new Error("the outbox relay stopped"));
    if (abort?.aborted) aborted();
    abort?.addEventListener("abort", aborted, { once: true });
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
    abort?.removeEventListener("abort", aborted);
  });
}

/**
 * How long close() waits for each of its steps. A batch whose rows are
 * abandoned is rolled back with its connection, and a batch the broker
 * confirmed but whose delete never ran is published again after a restart:
 * consumers absorb that by event id.
 */
const CLOSE_STEP_MS = 1_000;

/** How long close() waits for the broker's close-ok (it takes milliseconds from a broker that is there). */
const BROKER_STEP_MS = 500;

export interface OutboxRelay {
  /** Resolves when the outbox has been empty at least once since the call. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function startOutboxRelay(opts: {
  sql: Sql;
  amqp: RecoveringChannelModel;
  topology: Topology;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  /**
   * How long a nudged relay waits for more commits before it reads the
   * outbox: one batch per burst of commits rather than one per commit.
   */
  gatherMs?: number;
  confirmTimeoutMs?: number;
}): OutboxRelay {
  const { sql, amqp, logger } = opts;
  const batchSize = opts.batchSize ?? 500;
  const pollMs = opts.pollMs ?? 1_000;
  const gatherMs = opts.gatherMs ?? 20;
  const confirmTimeoutMs = opts.confirmTimeoutMs ?? 30_000;
  const traced = tracingEnabled();
  let channel: Promise<ConfirmChannel> | undefined;
  const stop = createStopSignal();
  let wake: (() => void) | undefined;
  let idleWaiters: (() => void)[] = [];

  const nudge = () => wake?.();
  const listening = sql.listen(OUTBOX_NOTIFY_CHANNEL, nudge).catch((err: unknown) => {
    logger.warn({ err }, "outbox LISTEN failed; relying on polling");
    return undefined;
  });

  function confirmChannel(): Promise<ConfirmChannel> {
    if (!channel) {
      const opening = amqp.createConfirmChannel();
      // Opening waits for a connection, then for the broker to open the
      // channel; a broker that accepted the connection but never answers
      // (seen right after a restart) must not stall the relay for good,
      // and close() must not wait for a broker that is away.
      const created = withTimeout(opening, confirmTimeoutMs, "opening the outbox channel timed out", stop.signal);
      created.catch(() =>
        opening.then(
          (late) => late.close().catch(() => {}),
          () => {},
        ),
      );
      channel = created;
      created.then(
        (ch) => {
          ch.on("error", (err: Error) => logger.warn({ err: err.message }, "outbox channel error"));
          ch.on("close", () => {
            if (channel === created) channel = undefined;
          });
        },
        () => {
          if (channel === created) channel = undefined;
        },
      );
    }
    return channel;
  }

  async function relayBatch(): Promise<number> {
    const ch = await confirmChannel();
    // BEGIN travels with the SELECT, COMMIT with the DELETE: two round trips, not four.
    return pipelinedTransaction(sql, async (tx, commit) => {
      // Ordered by the column, qualified: unqualified, `position` would be the text output column, where "10" < "9".
      const rows = await tx<OutboxRow[]>`
        select position::text, id, routing_key, type, payload, headers::text,
          to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at
        from outbox order by outbox.position limit ${batchSize} for update skip locked`;
      if (rows.length === 0) return 0;
      const uncork = corkConnection(ch);
      // Uncorked whatever happens: a publish that throws must not leave the connection corked for good.
      try {
        for (const row of rows) {
          const occurredAt = new Date(row.occurred_at);
          const headers = { ...(JSON.parse(row.headers) as Record<string, string>), "x-occurred-at": row.occurred_at };
          const options = {
            persistent: true,
            messageId: row.id,
            type: row.type,
            contentType: "application/x-protobuf",
            timestamp: Math.floor(occurredAt.getTime() / 1000),
            headers,
          };
          if (!traced) {
            ch.publish(opts.topology.exchange, row.routing_key, row.payload, options);
            continue;
          }
          // Published in the context the row was written in (its traceparent): the amqplib
          // instrumentation's publish span joins the request's trace and replaces the header
          // with its own context, which the consumers continue.
          runInContext(extractContext(headers), () =>
            ch.publish(opts.topology.exchange, row.routing_key, row.payload, options),
          );
        }
      } finally {
        uncork();
      }
      // One round of confirms per batch rather than one per event. A broker
      // that never answers must not hold the rows' locks forever.
      await withTimeout(ch.waitForConfirms(), confirmTimeoutMs, "publisher confirms timed out");
      await commit(tx`delete from outbox where position in ${tx(rows.map((r) => r.position))}`);
      return rows.length;
    });
  }

  const backoff = createBackoff(stop, { firstMs: 200, maxMs: 5_000 });
  const loop = (async () => {
    while (!stop.stopped) {
      let relayed = 0;
      try {
        relayed = await relayBatch();
        backoff.succeed();
        if (relayed > 0) {
          published.inc(relayed);
          publishBatches.observe(relayed);
        }
      } catch (err) {
        // Never reuse a channel that failed: it may have closed before its
        // close listener was attached, and would fail every batch after.
        const stale = channel;
        channel = undefined;
        stale?.then(
          (ch) => ch.close().catch(() => {}),
          () => {},
        );
        if (stop.stopped) break;
        relayFailures.inc();
        const wait = backoff.fail();
        const { failures } = backoff;
        if (failures === 1 || failures % 20 === 0) logger.warn({ err, failures }, "outbox relay failed; will retry");
        await stop.sleep(wait);
        continue;
      }
      if (relayed === batchSize) continue;
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
      if (stop.stopped) break;
      const nudged = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      wake = undefined;
      if (nudged && gatherMs > 0) await stop.sleep(gatherMs);
    }
  })();

  return {
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        nudge();
      }),
    // Each step bounded: a batch waits on PostgreSQL and RabbitMQ, and either may have gone silent.
    async close() {
      stop.stop();
      nudge();
      await Promise.all([
        boundedStep(logger, "the outbox relay's batch in progress", CLOSE_STEP_MS, loop),
        boundedStep(
          logger,
          "the outbox relay's UNLISTEN",
          CLOSE_STEP_MS,
          listening.then((listener) => listener?.unlisten()),
        ),
      ]);
      const ch = channel?.catch(() => undefined);
      await boundedStep(logger, "closing the outbox channel", BROKER_STEP_MS, (async () => (await ch)?.close())());
    },
  };
}
