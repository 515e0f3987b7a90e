/**
 * What the outbox tests run against: a fresh database holding only the
 * outbox table, a test topology on the real broker, a relay's AMQP
 * connection, and a queue bound to every event that collects what arrives.
 */
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from "amqplib";
import { generateDrizzleJson, generateMigration } from "drizzle-kit/api";
import { connectAmqp, type RecoveringChannelModel } from "../src/amqp.js";
import { createLogger, type Logger } from "../src/logger.js";
import { outbox } from "../src/outbox.js";
import { connectPostgres, type Sql } from "../src/postgres.js";
import { createTestDatabase, createTestTopology, TEST_RABBITMQ_URL, type TestTopology } from "../src/testing.js";

export interface OutboxHarness {
  logger: Logger;
  sql: Sql;
  topo: TestTopology;
  amqp: RecoveringChannelModel;
  channel: Channel;
  queue: string;
  /** Every event published, in arrival order. */
  received: ConsumeMessage[];
  close(): Promise<void>;
}

export async function startOutboxHarness(name: string): Promise<OutboxHarness> {
  const logger = createLogger(name, "silent");
  const database = await createTestDatabase();
  const topo = createTestTopology();
  const sql = connectPostgres(database.url, { appName: name, max: 4 });
  const statements = await generateMigration(generateDrizzleJson({}), generateDrizzleJson({ outbox }));
  for (const statement of statements) await sql.unsafe(statement);
  const amqp = await connectAmqp(TEST_RABBITMQ_URL, topo.topology, logger);
  await amqp.waitForConnect();
  const listener: ChannelModel = await connect(TEST_RABBITMQ_URL);
  const channel = await listener.createChannel();
  await channel.assertExchange(topo.topology.exchange, "topic", { durable: true });
  const { queue } = await channel.assertQueue("", { exclusive: true });
  await channel.bindQueue(queue, topo.topology.exchange, "#");
  const received: ConsumeMessage[] = [];
  await channel.consume(queue, (msg) => msg && received.push(msg), { noAck: true });
  return {
    logger,
    sql,
    topo,
    amqp,
    channel,
    queue,
    received,
    async close() {
      await listener.close();
      await amqp.close();
      await sql.end();
      await topo.drop();
      await database.drop();
    },
  };
}
