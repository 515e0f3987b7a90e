/**
 * Builds chat-svc from its dependencies: the gRPC server, the room event
 * publisher and the process's one room event subscriber.
 */
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { createTokenKeys } from "@parley/shared/auth.js";
import { grpcHandlers, startGrpcServer } from "@parley/shared/grpc-server.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Sql } from "@parley/shared/postgres.js";
import type { Redis } from "@parley/shared/redis.js";
import { createAuthenticator } from "@parley/shared/sessions.js";
import type { Config } from "./config.js";
import { type Fanout, startFanout } from "./fanout.js";
import { createRoomEventPublisher, roomEventsChannel } from "./room-events.js";
import { createDb } from "./storage/db.js";
import { chatService } from "./transport/chat-service.js";

/** How far a stream may fall behind before it is ended (see fanout.ts). */
export const DEFAULT_STREAM_QUEUE_LIMIT = 10_000;

export interface AppDeps {
  config: Pick<Config, "HOST" | "PORT" | "JWT_SECRET" | "REDIS_KEY_PREFIX">;
  logger: Logger;
  sql: Sql;
  redis: Redis;
  streamQueueLimit?: number;
}

export interface App {
  readonly port: number;
  readonly fanout: Pick<Fanout, "size">;
  close(): Promise<void>;
}

export async function startApp(deps: AppDeps): Promise<App> {
  const { config, logger, redis } = deps;
  const prefix = config.REDIS_KEY_PREFIX;
  const events = createRoomEventPublisher({ redis, prefix, logger });
  const fanout = startFanout({
    redis,
    channel: roomEventsChannel(prefix),
    logger,
    queueLimit: deps.streamQueueLimit ?? DEFAULT_STREAM_QUEUE_LIMIT,
  });
  const auth = createAuthenticator({ keys: createTokenKeys(config.JWT_SECRET), redis, prefix });
  const impl = chatService({ domain: { db: createDb(deps.sql), events }, auth, fanout });

  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    server = await startGrpcServer({
      host: config.HOST,
      port: config.PORT,
      bindings: [{ service: ChatService, handlers: grpcHandlers(ChatService, impl, logger) }],
      logger,
    });
  } catch (err) {
    await fanout.close();
    throw err;
  }

  return {
    port: server.port,
    fanout,
    async close() {
      // Streams never end by themselves; end them first or shutdown would wait for them.
      await fanout.close();
      await server.close();
      // After the server: calls that were finishing may still have events to publish.
      await events.close();
    },
  };
}
