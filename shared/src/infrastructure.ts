/**
 * What a gRPC service process connects to: its own PostgreSQL database
 * (created and migrated on start unless told not to), Redis, RabbitMQ, and the outbox relay.
 */
import { closeAmqp, connectAmqp, type RecoveringChannelModel } from "./amqp.js";
import type { Logger } from "./logger.js";
import { measureOutboxBacklog } from "./outbox.js";
import { type OutboxRelay, startOutboxRelay } from "./outbox-relay.js";
import { applyMigrations, closePostgres, connectPostgres, ensureDatabase, type Sql } from "./postgres.js";
import { measurePool } from "./postgres-metrics.js";
import { connectRedis, type Redis } from "./redis.js";
import type { Topology } from "./topology.js";

export interface ServiceInfrastructure {
  sql: Sql;
  redis: Redis;
  amqp: RecoveringChannelModel;
  relay: OutboxRelay;
  close(): Promise<void>;
}

export async function openServiceInfrastructure(opts: {
  name: string;
  databaseUrl: string;
  /** Undefined: the database is already migrated (MIGRATE_ON_START=false). */
  migrationsFolder: string | undefined;
  redisUrl: string;
  amqpUrl: string;
  topology: Topology;
  logger: Logger;
}): Promise<ServiceInfrastructure> {
  const { logger } = opts;
  if (opts.migrationsFolder !== undefined) {
    await ensureDatabase(opts.databaseUrl);
    await applyMigrations(opts.databaseUrl, opts.migrationsFolder);
  }
  const sql = connectPostgres(opts.databaseUrl, { appName: opts.name });
  measurePool(sql);
  measureOutboxBacklog(sql);
  const redis = connectRedis(opts.redisUrl, logger, opts.name);
  const amqp = await connectAmqp(opts.amqpUrl, opts.topology, logger);
  const relay = startOutboxRelay({ sql, amqp, topology: opts.topology, logger });
  return {
    sql,
    redis,
    amqp,
    relay,
    // Every step bounded (see bounded-step.ts), so this ends within a few seconds whatever is down.
    async close() {
      await relay.close();
      await closeAmqp(amqp, logger);
      redis.disconnect();
      await closePostgres(sql, logger);
    },
  };
}
