/**
 * Builds chat-svc from its dependencies: the gRPC server, the room event
 * publisher, the process's one room event subscriber, the send batcher,
 * presence tracking, the event log cleaner and the user directory's feed.
 * main.ts listens; tests listen on port 0.
 */
import { randomUUID } from "node:crypto";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import type { RecoveringChannelModel } from "@parley/shared/amqp.js";
import { createTokenKeys } from "@parley/shared/auth.js";
import { boundedStep } from "@parley/shared/bounded-step.js";
import { createDependencyHealth, watchDatabase, watchRedis } from "@parley/shared/dependency-health.js";
import { createGrpcServer, grpcHandlers } from "@parley/shared/grpc-server.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Sql } from "@parley/shared/postgres.js";
import { duplicateRedis, type Redis } from "@parley/shared/redis.js";
import type { GrpcApp } from "@parley/shared/service-main.js";
import { createAuthenticator } from "@parley/shared/sessions.js";
import type { Topology } from "@parley/shared/topology.js";
import type { Config } from "./config.js";
import { budgetSettings, createActionBudgets } from "./domain/action-budgets.js";
import type { DomainDeps } from "./domain/deps.js";
import { type EventCleaner, startEventCleaner } from "./domain/event-retention.js";
import { type PresenceService, startPresence } from "./domain/presence.js";
import { createMessageSender } from "./domain/send-message.js";
import { recordUser } from "./domain/user-directory.js";
import { type Fanout, startFanout } from "./fanout.js";
import { createRoomEventPublisher, roomEventsChannel } from "./room-events.js";
import { createDb } from "./storage/db.js";
import { createMemberAddBudget } from "./storage/member-add-budget.js";
import { cachingTokenKeys } from "./token-cache.js";
import { chatService } from "./transport/chat-service.js";
import { startUserEventConsumer, type UserEventConsumer } from "./user-events.js";
import { createUserLookup } from "./user-lookup.js";

/** How far a stream may fall behind before it is ended (see fanout.ts). */
export const DEFAULT_STREAM_QUEUE_LIMIT = 10_000;

const DAY_MS = 86_400_000;

/** How long close() waits for the work in progress at each step before it abandons it (logged). */
const CLOSE_STEP_MS = 2_000;

/** Verified access tokens remembered (a few hundred bytes each), about one per active user. */
const TOKEN_CACHE_ENTRIES = 50_000;

export interface AppDeps {
  config: Pick<
    Config,
    | "JWT_SECRET"
    | "REDIS_KEY_PREFIX"
    | "EVENT_RETENTION_DAYS"
    | "EVENT_CLEANUP_INTERVAL_SECONDS"
    | "PRESENCE_TTL_SECONDS"
    | "SEND_BATCH_MAX"
    | "SEND_BATCH_CONCURRENCY"
    | "SEND_BATCH_LINGER_MS"
    | "USER_SVC_URL"
    | "MEMBER_ADDS_PER_MINUTE"
    | "USER_SEND_RATE"
    | "USER_SEND_BURST"
    | "USER_EDIT_RATE"
    | "USER_EDIT_BURST"
    | "USER_REACT_RATE"
    | "USER_REACT_BURST"
    | "USER_READ_RATE"
    | "USER_READ_BURST"
    | "MAX_REACTIONS_PER_MESSAGE"
    | "MAX_REACTIONS_PER_USER"
  >;
  logger: Logger;
  sql: Sql;
  redis: Redis;
  amqp: RecoveringChannelModel;
  /** Where user events for the directory are consumed from. */
  topology: Topology;
  streamQueueLimit?: number;
  /** Finer than the config's seconds, for tests. */
  presenceTtlMs?: number;
  presenceSweepIntervalMs?: number;
}

export interface App extends GrpcApp {
  readonly fanout: Pick<Fanout, "size">;
  readonly presence: Pick<PresenceService, "sweep">;
  readonly eventCleaner: Pick<EventCleaner, "runOnce">;
  readonly userEvents: Pick<UserEventConsumer, "consuming">;
}

export async function build(deps: AppDeps): Promise<App> {
  const { config, logger, redis } = deps;
  const prefix = config.REDIS_KEY_PREFIX;
  const origin = randomUUID();
  // What chat-svc needs to answer calls (see dependency-health.ts): not RabbitMQ.
  const health = createDependencyHealth({ logger, needs: ["postgres", "redis"] });
  watchRedis(health, redis, "redis", { probe: true });
  const fanout = startFanout({
    redis,
    health,
    channel: roomEventsChannel(prefix),
    origin,
    logger,
    queueLimit: deps.streamQueueLimit ?? DEFAULT_STREAM_QUEUE_LIMIT,
  });
  const events = createRoomEventPublisher({
    redis,
    prefix,
    logger,
    origin,
    local: (events) => fanout.deliverLocal(events),
  });
  const db = createDb(deps.sql);
  const users = createUserLookup({ baseUrl: config.USER_SVC_URL, secret: config.JWT_SECRET, logger });
  const domain: DomainDeps = {
    db,
    sql: deps.sql,
    redis,
    keyPrefix: prefix,
    events,
    users,
    memberAdds: createMemberAddBudget({ redis, prefix, perMinute: config.MEMBER_ADDS_PER_MINUTE }),
    budgets: createActionBudgets({ redis, prefix, settings: budgetSettings(config) }),
    reactionLimits: { perMessage: config.MAX_REACTIONS_PER_MESSAGE, perUser: config.MAX_REACTIONS_PER_USER },
  };
  const userEvents = startUserEventConsumer({
    amqp: deps.amqp,
    topology: deps.topology,
    logger,
    record: (user) => recordUser(domain, user),
  });
  // Send batches tell of the database's state as they go, before any probe would.
  const database = watchDatabase(health, deps.sql);
  const sender = createMessageSender(
    domain,
    {
      maxBatch: config.SEND_BATCH_MAX,
      lanes: config.SEND_BATCH_CONCURRENCY,
      lingerMs: config.SEND_BATCH_LINGER_MS,
    },
    database,
  );
  const presenceTtlMs = deps.presenceTtlMs ?? config.PRESENCE_TTL_SECONDS * 1000;
  const presence = startPresence(domain, {
    ttlMs: presenceTtlMs,
    sweepIntervalMs: deps.presenceSweepIntervalMs ?? Math.min(15_000, Math.ceil(presenceTtlMs / 3)),
    logger,
  });
  const eventCleaner = startEventCleaner({
    db,
    retentionMs: config.EVENT_RETENTION_DAYS * DAY_MS,
    intervalMs: config.EVENT_CLEANUP_INTERVAL_SECONDS * 1000,
    logger,
  });
  const keys = cachingTokenKeys(createTokenKeys(config.JWT_SECRET), { maxEntries: TOKEN_CACHE_ENTRIES });
  // Every user call reads its session from Redis: on a connection of their
  // own, calls arriving together share one write instead of one each.
  const sessions = duplicateRedis(redis, logger, { enableAutoPipelining: true, connectionName: "chat-svc:sessions" });
  watchRedis(health, sessions, "chat-svc:sessions");
  const auth = createAuthenticator({ keys, redis: sessions, prefix });
  const impl = chatService({ domain, sender, presence, auth, fanout, logger });

  const server = createGrpcServer({
    bindings: [{ service: ChatService, handlers: grpcHandlers(ChatService, impl, { logger }) }],
  });
  server.setServing(health.serving);
  health.onChange((serving) => server.setServing(serving));

  return {
    listen: server.listen,
    ready: server.ready,
    drain: server.drain,
    fanout,
    presence,
    eventCleaner,
    userEvents,
    async close() {
      health.close();
      // Streams never end by themselves; end them first or shutdown would wait for them.
      await fanout.close();
      await server.close();
      // After the server: calls that were finishing may still have sends queued and events to publish.
      // Bounded: that work waits on PostgreSQL, Redis and RabbitMQ, any of which may have gone silent.
      await boundedStep(
        logger,
        "sends, presence changes, event clean-up and user directory updates in progress",
        CLOSE_STEP_MS,
        Promise.all([sender.close(), presence.close(), eventCleaner.close(), userEvents.close()]),
      );
      users.close();
      await boundedStep(logger, "publishing the last room events", CLOSE_STEP_MS, events.close());
      sessions.disconnect();
    },
  };
}
