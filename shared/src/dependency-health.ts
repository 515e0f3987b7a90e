/**
 * Whether the servers a component needs are up, combined into one answer
 * for its health: gRPC health (GrpcServer.setServing) in the services, GET
 * /healthz in the mail worker. NOT_SERVING means "calls here fail now
 * because a server this needs is away", so a balancer or an operator sees
 * the outage rather than a service that answers everything `unavailable`.
 *
 * What each component needs to do its work:
 *  - user-svc: PostgreSQL (accounts, profiles) and Redis (sessions, OTP codes,
 *    rate limits). Every call but the lookups needs one or both.
 *  - chat-svc: PostgreSQL (rooms, messages, every send) and Redis (callers'
 *    sessions, the room-event fan-out, budgets, presence): its sessions and
 *    room-events connections are watched too, as their loss alone breaks
 *    calls and streams.
 *  - Neither needs RabbitMQ to answer calls: what they publish waits in the
 *    transactional outbox while the broker is away and goes out when it is
 *    back (mail is late, never lost), and chat-svc's user directory catches
 *    up then. The broker's state is tracked and logged, but a broker outage
 *    does not take every replica of both services out of their balancers.
 *  - mail-worker: RabbitMQ (there is nothing to consume without it) and
 *    PostgreSQL (the ledger every event is checked against). An SMTP server
 *    that is down is not unhealthiness: each mail fails, is retried after
 *    MAIL_RETRY_DELAYS and waited out for MAIL_RETRY_FOR, the worker itself
 *    can do nothing better, and a restart would not help.
 *
 * Redis and RabbitMQ report their state through their clients' events, and
 * the services' main Redis connection is PINGed too (a Redis that hangs
 * closes nothing). PostgreSQL has no connection to watch (postgres.js
 * connects per query), so it is probed: `select 1` every few seconds while it
 * is up, more often while it is down, and told of failures the work itself
 * ran into (chat-svc's send batches) so that an outage shows at once under
 * load. A probe without an answer within 2 s counts as a failure.
 */
import type { RecoveringChannelModel } from "./amqp.js";
import { within } from "./deadline.js";
import type { Logger } from "./logger.js";
import type { Sql } from "./postgres.js";
import type { Redis } from "./redis.js";

export type Dependency = "postgres" | "redis" | "rabbitmq";

export type ConnectionState = "up" | "down";

/**
 * A connection's state when tracking starts: "connecting" is down for
 * `serving` (calls would fail) but not an outage to warn about, since every
 * clean start begins there; it is one only if the first attempt fails.
 */
export type InitialState = boolean | "connecting";

export interface DependencyHealth {
  /** Every connection of every needed dependency is up. */
  readonly serving: boolean;
  /** Each tracked connection's state, by its label ("redis", "chat-svc:sessions", "rabbitmq", "postgres"). */
  report(): Record<string, ConnectionState>;
  /** Called with the new answer each time `serving` changes. */
  onChange(listener: (serving: boolean) => void): void;
  /** Starts tracking a connection, in the state given; returns its setter. */
  track(dependency: Dependency, label: string, initial: InitialState): (up: boolean, err?: unknown) => void;
  /** Runs `stop` on close(): for watchers with timers of their own. */
  onClose(stop: () => void): void;
  /** Stops the probes; no change is reported after. */
  close(): void;
}

export function createDependencyHealth(opts: { logger: Logger; needs: readonly Dependency[] }): DependencyHealth {
  const { logger } = opts;
  const needs = new Set(opts.needs);
  const connections = new Map<
    string,
    { dependency: Dependency; up: boolean; connecting: boolean; why?: string | undefined }
  >();
  const listeners: ((serving: boolean) => void)[] = [];
  const closers: (() => void)[] = [];
  let closed = false;

  const compute = () => [...connections.values()].every((c) => c.up || !needs.has(c.dependency));
  let serving = true;
  // Whether the outage under way has been logged: not while the only
  // connections down are still making their first attempt.
  let warned = false;

  const recompute = () => {
    const now = compute();
    const changed = now !== serving;
    serving = now;
    if (now) {
      if (changed) logger.info("every server this needs is up: serving");
      warned = false;
    } else if (!warned) {
      const down = [...connections].filter(([, c]) => !c.up && !c.connecting && needs.has(c.dependency));
      const labels = down.map(([label]) => label);
      if (labels.length > 0) {
        warned = true;
        logger.warn(
          { down: Object.fromEntries(down.map(([label, c]) => [label, c.why ?? "down"])) },
          `not serving while ${labels.join(", ")} ${labels.length === 1 ? "is" : "are"} down`,
        );
      }
    }
    if (changed) for (const listener of listeners) listener(now);
  };

  return {
    get serving() {
      return serving;
    },
    report: () => Object.fromEntries([...connections].map(([label, c]) => [label, c.up ? "up" : "down"])),
    onChange(listener) {
      listeners.push(listener);
    },
    track(dependency, label, initial) {
      connections.set(label, { dependency, up: initial === true, connecting: initial === "connecting" });
      recompute();
      return (nowUp, err) => {
        const c = connections.get(label);
        if (closed || !c || (c.up === nowUp && !c.connecting)) return;
        const wasConnecting = c.connecting;
        c.connecting = false;
        c.up = nowUp;
        c.why = nowUp ? undefined : errMessage(err);
        // Logged per connection for the dependencies that are not needed (the rest are logged by recompute).
        if (!needs.has(dependency)) {
          if (nowUp && !wasConnecting) logger.info({ connection: label }, `${label} is up again`);
          else if (!nowUp)
            logger.warn({ connection: label, err: errMessage(err) }, `${label} is down; this goes on without it`);
        }
        recompute();
      };
    },
    onClose(stop) {
      closers.push(stop);
    },
    close() {
      closed = true;
      for (const stop of closers.splice(0)) stop();
    },
  };
}

function errMessage(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Tracks a Redis connection: up on "ready", down on "close" or "error"
 * (ioredis reconnects by itself). With `probe`, it is also PINGed every few
 * seconds while it is ready: a server that hangs closes nothing, and every
 * command sent to it waits for ever.
 */
export function watchRedis(health: DependencyHealth, conn: Redis, label: string, opts: { probe?: boolean } = {}): void {
  const set = health.track("redis", label, redisState(conn));
  conn.on("ready", () => set(true));
  conn.on("close", () => set(false));
  conn.on("error", (err: Error) => set(false, err));
  if (!opts.probe) return;

  const answering = health.track("redis", `${label} (ping)`, true);
  let pending: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const probe = async () => {
    // Not ready: the events above say so, and a PING would only wait in the offline queue.
    if (conn.status !== "ready") answering(true);
    else {
      pending ??= conn.ping().finally(() => {
        pending = undefined;
      });
      const ok = await answersWithin(pending, PROBE_TIMEOUT_MS);
      answering(ok, ok ? undefined : `no answer to PING within ${PROBE_TIMEOUT_MS} ms`);
    }
    if (!stopped) timer = setTimeout(probe, PROBE_MS.up);
  };
  timer = setTimeout(probe, PROBE_MS.up);
  health.onClose(() => {
    stopped = true;
    clearTimeout(timer);
  });
}

/** ioredis's status as where tracking starts: its first connection attempt is not an outage yet. */
function redisState(conn: Redis): InitialState {
  if (conn.status === "ready") return true;
  return ["wait", "connecting", "connect"].includes(conn.status) ? "connecting" : false;
}

/** Whether `pending` resolves within `ms`. */
async function answersWithin(pending: Promise<unknown>, ms: number): Promise<boolean> {
  const answered = await within(
    pending.then(
      () => true,
      () => false,
    ),
    ms,
  );
  return answered === true;
}

/** Tracks the RabbitMQ connection: up from "connect" (topology declared) until "disconnect" or a failed attempt. */
export function watchAmqp(health: DependencyHealth, amqp: RecoveringChannelModel, connected: boolean): void {
  // Not connected yet means its first attempt is under way (it starts on creation).
  const set = health.track("rabbitmq", "rabbitmq", connected || "connecting");
  amqp.on("connect", () => set(true));
  amqp.on("disconnect", (err: Error) => set(false, err));
  amqp.on("connect-failed", (err: Error) => set(false, err));
}

/** How often a server is probed while it answers (PostgreSQL, Redis), and while it does not (PostgreSQL). */
export const PROBE_MS = { up: 3_000, down: 500 } as const;

/** A probe that has no answer within this long counts as a failure (a server that hangs). */
const PROBE_TIMEOUT_MS = 2_000;

export interface DatabaseWatch {
  /** Work failed because the database cannot be reached: down at once, probed until it answers. */
  lost(err: unknown): void;
  /** Work got through: up. */
  confirmed(): void;
}

/** Tracks PostgreSQL by probing it (see the module comment). */
export function watchDatabase(
  health: DependencyHealth,
  sql: Sql,
  opts: { probeMs?: { up: number; down: number } } = {},
): DatabaseWatch {
  const probeMs = opts.probeMs ?? PROBE_MS;
  const set = health.track("postgres", "postgres", true);
  let up = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const mark = (now: boolean, err?: unknown) => {
    up = now;
    set(now, err);
  };
  const schedule = () => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(probe, up ? probeMs.up : probeMs.down);
  };
  // A probe a hung server never answers stays queued in the driver: no second one is sent beside it.
  let pending: Promise<unknown> | undefined;
  const probe = async () => {
    try {
      pending ??= sql`select 1`.finally(() => {
        pending = undefined;
      });
      if (
        (await within(
          pending.then(() => true),
          PROBE_TIMEOUT_MS,
        )) === undefined
      ) {
        throw new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`);
      }
      mark(true);
    } catch (err) {
      mark(false, err);
    }
    schedule();
  };
  schedule();
  health.onClose(() => {
    stopped = true;
    clearTimeout(timer);
  });

  return {
    lost(err) {
      if (!up) return;
      mark(false, err);
      schedule();
    },
    confirmed() {
      if (up) return;
      mark(true);
      schedule();
    },
  };
}
