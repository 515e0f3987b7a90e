/**
 * SendMessage. Sends are validated one by one, then written in batches
 * (shared/batcher.ts): one transaction stores every message of a batch, its
 * room_events row and its message.sent outbox event, and advances each
 * room's seqs. The batch's events are published after commit, together
 * (room-events.ts).
 *
 * Rooms are split into lanes (by a hash of the room id), each writing one
 * batch at a time. Lanes lock disjoint rooms, so their transactions run side
 * by side instead of queueing on each other's room locks, and within a lane
 * a batch never waits for a lock its predecessor holds. A transaction is
 * two round trips: BEGIN, the room locks (which read the heads) and every
 * check, pipelined; then one statement writing everything, with the COMMIT
 * (shared/pipelined-transaction.ts).
 *
 * A send whose `clientMessageId` the sender already used in the room, in an
 * earlier batch or earlier in the same one, answers with that stored
 * message: no new seq, no second event.
 *
 * A batch that fails because the database cannot be reached (a lost
 * connection, a server restarting) answers each of its sends `unavailable`:
 * its COMMIT may or may not have happened, so it is not tried again here (a
 * send without a clientMessageId would be stored twice); the client retries
 * with the same clientMessageId and gets the stored message if there is one.
 * The lane goes on with its next batch, which reconnects.
 */

import { randomUUID } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { MessageSchema } from "@parley/proto/chat/v1/chat_pb.js";
import type { Identity } from "@parley/shared/auth.js";
import { type Batcher, createBatcher } from "@parley/shared/batcher.js";
import { counter, DURATION_BUCKETS, histogram, SIZE_BUCKETS, secondsSince } from "@parley/shared/metrics.js";
import { type OutboxEvent, outboxEvent } from "@parley/shared/outbox.js";
import { pipelinedTransaction } from "@parley/shared/pipelined-transaction.js";
import { databaseUnavailable, isDatabaseUnavailable } from "@parley/shared/postgres.js";
import { blankField, parentNotFound, peerDeactivated, roomNotFound } from "../errors.js";
import { messageToProto } from "../mapping.js";
import { type LoggedEvent, messageCreatedEvent } from "../storage/event-log.js";
import { findMessagesByIds, reactionsOf } from "../storage/messages.js";
import type { MessageRow } from "../storage/schema.js";
import {
  type ClientKey,
  findClientKeys,
  findMemberships,
  insertSent,
  type LockedRoom,
  lockRooms,
  membershipKey,
  roomsOfMessages,
} from "../storage/send-batch.js";
import { refusal } from "./access.js";
import type { DomainDeps, MessageView } from "./deps.js";
import { parseMentions } from "./mentions.js";

export interface SendInput {
  roomId: string;
  text: string;
  clientMessageId: string;
  parentId: string;
}

/** One validated send, as queued for a batch. */
export interface SendRequest {
  sender: Identity;
  /**
   * What must still pass before the send counts, settled while the batch's
   * first round trip runs: the sender's send budget, and their session check
   * when it had not finished yet (none in tests that drive a batch by hand).
   */
  live: Promise<void> | undefined;
  roomId: string;
  text: string;
  clientMessageId: string | null;
  parentId: string | null;
  mentions: string[];
}

export interface MessageSender {
  /**
   * `live`: the caller's session check when it has not finished yet. The
   * batch runs its first round trip meanwhile and stores nothing for a
   * sender whose session turns out to have ended.
   */
  send(caller: Identity, input: SendInput, live?: Promise<void>): Promise<MessageView>;
  close(): Promise<void>;
}

export interface BatchOptions {
  maxBatch: number;
  /** Lanes writing side by side, rooms split between them by id. */
  lanes: number;
  lingerMs: number;
}

/** Told how each batch's write went, for chat-svc's health (watchDatabase in shared/src/dependency-health.ts). */
export interface WriteHealth {
  /** A batch failed because the database cannot be reached. */
  lost(err: unknown): void;
  /** A batch was written. */
  confirmed(): void;
}

/** The lane of a room: its id's last 32 bits (uuid v4 is random there) modulo the lane count. */
function laneOf(roomId: string, lanes: number): number {
  const tail = Number.parseInt(roomId.slice(-8), 16);
  return Number.isNaN(tail) ? 0 : tail % lanes;
}

const batchSize = histogram({
  name: "parley_chat_send_batch_size",
  help: "Sends written per transaction (one batch of a lane)",
  buckets: SIZE_BUCKETS,
});
const batchSeconds = histogram<"outcome">({
  name: "parley_chat_send_batch_seconds",
  help: "How long a batch of sends took to write, from BEGIN to COMMIT (retries included); outcome ok or error",
  labelNames: ["outcome"],
  buckets: DURATION_BUCKETS,
});
const batchOk = batchSeconds.labels("ok");
const batchFailed = batchSeconds.labels("error");
const sendsWritten = counter<"outcome">({
  name: "parley_chat_sends_total",
  help: "Sends that went through a batch, by their own outcome: stored (new or an idempotent repeat) or failed (refused, or the batch failed)",
  labelNames: ["outcome"],
});
const sendsStored = sendsWritten.labels("stored");
const sendsFailed = sendsWritten.labels("failed");

export function createMessageSender(deps: DomainDeps, opts: BatchOptions, health?: WriteHealth): MessageSender {
  const write = async (batch: SendRequest[]) => {
    const start = performance.now();
    batchSize.observe(batch.length);
    try {
      const outcomes = await writeMessages(deps, batch);
      batchOk.observe(secondsSince(start));
      let stored = 0;
      for (const o of outcomes) if (o.status === "fulfilled") stored++;
      sendsStored.inc(stored);
      sendsFailed.inc(outcomes.length - stored);
      health?.confirmed();
      return outcomes;
    } catch (err) {
      batchFailed.observe(secondsSince(start));
      sendsFailed.inc(batch.length);
      if (!isDatabaseUnavailable(err)) throw err;
      health?.lost(err);
      throw databaseUnavailable();
    }
  };
  const lanes: Batcher<SendRequest, MessageView>[] = Array.from({ length: opts.lanes }, () =>
    createBatcher({ maxBatch: opts.maxBatch, maxInFlight: 1, lingerMs: opts.lingerMs, write }),
  );
  return {
    send(caller, input, live) {
      if (input.text.trim() === "") return Promise.reject(blankField("text"));
      const roomId = input.roomId.toLowerCase();
      return (lanes[laneOf(roomId, lanes.length)] as Batcher<SendRequest, MessageView>).submit({
        sender: caller,
        // The sender's send budget is charged while the batch's first round trip runs, as the session is checked.
        live: deps.budgets.chargeAlong("send", caller.userId, live),
        // PostgreSQL prints uuids in lower case; requests are matched to rows by them.
        roomId,
        text: input.text,
        clientMessageId: input.clientMessageId === "" ? null : input.clientMessageId,
        parentId: input.parentId === "" ? null : input.parentId.toLowerCase(),
        mentions: parseMentions(input.text),
      });
    },
    close: async () => {
      await Promise.all(lanes.map((lane) => lane.close()));
    },
  };
}

const clientKey = (roomId: string, senderId: string, clientMessageId: string) =>
  `${roomId} ${senderId} ${clientMessageId}`;

// Serialisation failures and deadlocks: the batch is safe to run again.
const RETRYABLE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 3;

/** Writes a batch of sends in one transaction; each request gets its own outcome. */
export async function writeMessages(
  deps: DomainDeps,
  requests: readonly SendRequest[],
): Promise<PromiseSettledResult<MessageView>[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptBatch(deps, requests);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= MAX_ATTEMPTS || typeof code !== "string" || !RETRYABLE.has(code)) throw err;
    }
  }
}

/** What becomes of each request of a batch. */
type Slot =
  | { kind: "failed"; error: unknown }
  | { kind: "new"; row: MessageRow; encoded: Uint8Array }
  // Answered by a message stored before this batch...
  | { kind: "existing"; messageId: string }
  // ...or by an earlier request of this batch with the same key.
  | { kind: "same-as"; index: number };

/** A request with its place in the batch. */
interface Queued {
  index: number;
  request: SendRequest;
}

async function attemptBatch(
  deps: DomainDeps,
  requests: readonly SendRequest[],
): Promise<PromiseSettledResult<MessageView>[]> {
  const slots: Slot[] = new Array(requests.length);
  const logged: LoggedEvent[] = [];

  await pipelinedTransaction(deps.sql, async (tx, commit) => {
    // 1. The rooms' locks, then everything that decides whether a request is
    // valid and whether it was already stored, in one round trip: statements
    // sent together run in order, so the reads after the locks see every
    // earlier writer of these rooms committed, and no other transaction can
    // be storing a message under one of these idempotency keys meanwhile.
    const parentIds = [...new Set(requests.flatMap((r) => (r.parentId ? [r.parentId] : [])))];
    const roomIds = [...new Set(requests.map((r) => r.roomId))];
    const keys = requests.flatMap((r) =>
      r.clientMessageId === null
        ? []
        : [{ roomId: r.roomId, senderId: r.sender.userId, clientMessageId: r.clientMessageId }],
    );
    const senders = new Map(
      requests.map((r) => {
        const m = { roomId: r.roomId, userId: r.sender.userId };
        return [membershipKey(m), m];
      }),
    );
    const [heads, parents, memberships, stored, sessions] = await Promise.all([
      lockRooms(tx, roomIds),
      roomsOfMessages(tx, parentIds),
      findMemberships(tx, [...senders.values()]),
      findClientKeys(tx, keys),
      Promise.allSettled(requests.map((r) => r.live)),
    ]);
    const accepted = validate(requests, sessions, heads, memberships, parents, slots);
    const fresh = deduplicate(accepted, stored, slots);
    if (fresh.length === 0) return;

    // 2. Seqs: the batch's messages take each room's next ones in request order.
    const next = new Map<string, { seq: bigint; eventSeq: bigint }>();
    for (const [roomId, head] of heads) next.set(roomId, { seq: head.headSeq + 1n, eventSeq: head.headEventSeq + 1n });

    // 3. Rows, log entries, domain events and the rooms' new heads, in one statement.
    const rows: MessageRow[] = [];
    const outbox: OutboxEvent[] = [];
    const createdAt = new Date();
    for (const { index, request: r } of fresh) {
      const position = next.get(r.roomId);
      if (!position) throw new Error(`room ${r.roomId} vanished while sending`);
      const row: MessageRow = {
        id: randomUUID(),
        roomId: r.roomId,
        seq: position.seq++,
        senderId: r.sender.userId,
        senderUsername: r.sender.username,
        text: r.text,
        clientMessageId: r.clientMessageId,
        parentId: r.parentId,
        mentions: r.mentions,
        editedAt: null,
        deletedAt: null,
        createdAt,
      };
      rows.push(row);
      // Encoded once: inside its room event, and as it is, in the sender's answer.
      const encoded = toBinary(MessageSchema, messageToProto(row));
      slots[index] = { kind: "new", row, encoded };
      logged.push(messageCreatedEvent(r.roomId, position.eventSeq++, createdAt, encoded));
      const room = heads.get(r.roomId);
      outbox.push(
        outboxEvent("message.sent", {
          roomId: r.roomId,
          roomName: room?.name ?? "",
          messageId: row.id,
          seq: row.seq,
          senderId: row.senderId,
          senderUsername: row.senderUsername,
          text: row.text,
          mentions: row.mentions,
          direct: room?.kind === "direct",
          membersVersion: room?.membersVersion ?? 0n,
        }),
      );
    }
    const advanced = [...next].flatMap(([id, n]) => {
      const head = heads.get(id);
      return head && n.seq - 1n !== head.headSeq ? [{ id, headSeq: n.seq - 1n, headEventSeq: n.eventSeq - 1n }] : [];
    });
    await commit(insertSent(tx, { rows, events: logged, outbox, heads: advanced }));
  });

  deps.events.publish(logged);
  return settle(deps, slots);
}

/**
 * Fails the requests whose session, room, membership or parent does not
 * hold, or whose direct room is read-only; returns the others.
 */
function validate(
  requests: readonly SendRequest[],
  sessions: readonly PromiseSettledResult<void>[],
  rooms: ReadonlyMap<string, LockedRoom>,
  /** Each membership, with the deactivated other member of a direct room (read-only), else null. */
  memberships: ReadonlyMap<string, string | null>,
  parentRooms: ReadonlyMap<string, string>,
  slots: Slot[],
): Queued[] {
  const accepted: Queued[] = [];
  requests.forEach((request, index) => {
    const { roomId, sender, parentId } = request;
    const room = rooms.get(roomId);
    const session = sessions[index];
    const peer = memberships.get(membershipKey({ roomId, userId: sender.userId }));
    let error: unknown;
    if (session?.status === "rejected") error = session.reason;
    else if (!room) error = roomNotFound(roomId);
    else if (peer === undefined) error = refusal({ id: roomId, visibility: room.visibility });
    else if (peer !== null) error = peerDeactivated(roomId, peer);
    else if (parentId && parentRooms.get(parentId) !== roomId) error = parentNotFound(parentId);
    if (error === undefined) accepted.push({ index, request });
    else slots[index] = { kind: "failed", error };
  });
  return accepted;
}

/**
 * Points the requests whose idempotency key is already stored, or taken by
 * an earlier request of the batch, at that message; returns the rest: the
 * messages to write.
 */
function deduplicate(
  accepted: readonly Queued[],
  stored: readonly (ClientKey & { id: string })[],
  slots: Slot[],
): Queued[] {
  const storedByKey = new Map(stored.map((s) => [clientKey(s.roomId, s.senderId, s.clientMessageId), s.id]));
  const firstByKey = new Map<string, number>();
  return accepted.filter(({ index, request: r }) => {
    if (r.clientMessageId === null) return true;
    const key = clientKey(r.roomId, r.sender.userId, r.clientMessageId);
    const storedId = storedByKey.get(key);
    const first = firstByKey.get(key);
    if (storedId !== undefined) slots[index] = { kind: "existing", messageId: storedId };
    else if (first !== undefined) slots[index] = { kind: "same-as", index: first };
    else firstByKey.set(key, index);
    return storedId === undefined && first === undefined;
  });
}

/** Turns the slots into outcomes, loading the messages that earlier sends stored. */
async function settle(deps: DomainDeps, slots: readonly Slot[]): Promise<PromiseSettledResult<MessageView>[]> {
  const existingIds = [...new Set(slots.flatMap((s) => (s.kind === "existing" ? [s.messageId] : [])))];
  const existing = new Map<string, MessageView>();
  if (existingIds.length > 0) {
    const [rows, reactions] = await Promise.all([
      findMessagesByIds(deps.db, existingIds),
      reactionsOf(deps.db, existingIds),
    ]);
    for (const row of rows) existing.set(row.id, { row, reactions: reactions.get(row.id) ?? [] });
  }
  const outcome = (slot: Slot | undefined): PromiseSettledResult<MessageView> => {
    switch (slot?.kind) {
      case "failed":
        return { status: "rejected", reason: slot.error };
      case "new":
        return { status: "fulfilled", value: { row: slot.row, reactions: [], encoded: slot.encoded } };
      case "existing": {
        const found = existing.get(slot.messageId);
        return found
          ? { status: "fulfilled", value: found }
          : { status: "rejected", reason: new Error(`message ${slot.messageId} vanished`) };
      }
      case "same-as":
        return outcome(slots[slot.index]);
      default:
        return { status: "rejected", reason: new Error("a send was left without an outcome") };
    }
  };
  return slots.map(outcome);
}
