/**
 * Stands in for the mail worker, which the bench leaves out (it would run on
 * other hardware): consumes the mail queue and acknowledges everything,
 * unread. Without a consumer the queue only grows (every message.sent of the
 * run), and a quorum queue holding hundreds of thousands of messages costs
 * RabbitMQ work no deployment would see: its write-ahead log, rolled over
 * under a full queue, once took RabbitMQ to 0.45 cores in the middle of an
 * ingest step. Its CPU is counted as the load generator's.
 */
import { TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { topology } from "@parley/shared/topology.js";
import { connect } from "amqplib";

export interface MailDrain {
  readonly drained: number;
  close(): Promise<void>;
}

/** Acknowledges in bulk (each ack covers every earlier delivery), as often as every `ackEvery` messages. */
export async function startMailDrain(namespace: string, ackEvery = 200): Promise<MailDrain> {
  const conn = await connect(TEST_RABBITMQ_URL);
  const ch = await conn.createChannel();
  await ch.prefetch(ackEvery * 5);
  let drained = 0;
  let unacked = 0;
  let flush: NodeJS.Immediate | undefined;
  let last: Parameters<typeof ch.ack>[0] | undefined;
  const ackNow = () => {
    flush = undefined;
    if (last) ch.ack(last, true);
    last = undefined;
    unacked = 0;
  };
  await ch.consume(topology(namespace).mailQueue, (msg) => {
    if (!msg) return;
    drained++;
    last = msg;
    if (++unacked >= ackEvery) ackNow();
    else flush ??= setImmediate(ackNow);
  });
  return {
    get drained() {
      return drained;
    },
    async close() {
      if (flush) clearImmediate(flush);
      ackNow();
      await ch.close();
      await conn.close();
    },
  };
}
