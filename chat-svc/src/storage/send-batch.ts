/**
 * The statements of one batched send (see domain/send-message.ts): each
 * reads or writes the rows of every request of the batch at once. Plain
 * postgres.js rather than drizzle, for pipelining (statements issued
 * together in a transaction go out together) and for cheap multi-row
 * parameters: a whole set of rows travels as one JSON text parameter,
 * expanded with json_to_recordset() (JSON.stringify is native code; binding
 * thousands of parameters or escaping array literals in JS is not), and a
 * list of uuids as one comma-separated string.
 */

import { insertOutboxRows, OUTBOX_NOTIFY_CHANNEL, type OutboxEvent } from "@parley/shared/outbox.js";
import type { PendingQuery, Row, Sql } from "postgres";
import type { LoggedEvent } from "./event-log.js";
import type { MessageRow, RoomKind, Visibility } from "./schema.js";

/** A transaction's connection (shared/pipelined-transaction.ts). */
type Tx = Sql;

/** uuids have no commas: one text parameter, split and cast in the query. */
const uuidList = (ids: readonly string[]) => ids.join(",");

/** The room of each message in `ids` that exists. */
export async function roomsOfMessages(tx: Tx, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await tx<{ id: string; room_id: string }[]>`
    select id, room_id from messages where id = any(string_to_array(${uuidList(ids)}::text, ',')::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.room_id]));
}

export interface Membership {
  roomId: string;
  userId: string;
}

/**
 * Which of these (room, user) pairs are memberships, keyed by `membershipKey`:
 * only the pairs, however large the rooms. Each says, for a direct room, the
 * other member if they are deactivated (the room is read-only), else null.
 * Read here, in a statement after the room locks, not in the locking one:
 * that one's snapshot predates whatever (de)activation it waited for.
 */
export async function findMemberships(tx: Tx, pairs: readonly Membership[]): Promise<Map<string, string | null>> {
  if (pairs.length === 0) return new Map();
  // One primary-key probe per pair (see findClientKeys for why it is spelt
  // out), one of its room, and only for a direct room a look at its other
  // member: CASE evaluates the subquery only when the room is direct.
  const rows = await tx<{ room_id: string; user_id: string; deactivated_peer: string | null }[]>`
    select m.room_id, m.user_id,
      case when r.kind = 'direct' then (
        select o.user_id from room_members o join known_users k on k.user_id = o.user_id
        where o.room_id = m.room_id and o.user_id <> m.user_id and k.deactivated limit 1)
      end as deactivated_peer
    from json_to_recordset(${JSON.stringify(pairs)}::text::json) as v("roomId" uuid, "userId" uuid)
    cross join lateral (
      select room_id, user_id from room_members
      where room_id = v."roomId" and user_id = v."userId" limit 1) m
    cross join lateral (select kind from rooms where id = m.room_id limit 1) r`;
  return new Map(rows.map((r) => [membershipKey({ roomId: r.room_id, userId: r.user_id }), r.deactivated_peer]));
}

export const membershipKey = (m: Membership) => `${m.roomId}:${m.userId}`;

export interface RoomHeads {
  headSeq: bigint;
  headEventSeq: bigint;
}

/** A room as the send path needs it: its heads, and what a message or a refusal says of it. */
export interface LockedRoom extends RoomHeads {
  name: string;
  kind: RoomKind;
  visibility: Visibility;
  membersVersion: bigint;
}

/**
 * Takes the row locks of the rooms in id order and reads them; a room that
 * does not exist is missing from the map. Every transaction that locks
 * several rooms takes them in this order, so none waits for another in a
 * cycle; the others lock one room each.
 */
export async function lockRooms(tx: Tx, roomIds: readonly string[]): Promise<Map<string, LockedRoom>> {
  const rows = await tx<
    {
      id: string;
      head_seq: string;
      head_event_seq: string;
      name: string;
      kind: RoomKind;
      visibility: Visibility;
      members_version: string;
    }[]
  >`
    select id, head_seq, head_event_seq, name, kind, visibility, members_version from rooms
    where id = any(string_to_array(${uuidList(roomIds)}::text, ',')::uuid[])
    order by id for no key update`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        headSeq: BigInt(r.head_seq),
        headEventSeq: BigInt(r.head_event_seq),
        name: r.name,
        kind: r.kind,
        visibility: r.visibility,
        membersVersion: BigInt(r.members_version),
      },
    ]),
  );
}

export interface ClientKey {
  roomId: string;
  senderId: string;
  clientMessageId: string;
}

/**
 * Messages already stored under these idempotency keys. Run after
 * `lockRooms`: every message insert holds its room's lock until commit, so
 * from then on no other transaction can be about to store one of them.
 */
export async function findClientKeys(tx: Tx, keys: readonly ClientKey[]): Promise<(ClientKey & { id: string })[]> {
  if (keys.length === 0) return [];
  // One probe of the idempotency index per key. As a plain join, the plan
  // PostgreSQL cached for this statement while the table was small (a hash
  // join over a sequential scan of messages) was kept as it grew: every
  // batch read every message ever sent.
  const rows = await tx<{ id: string; room_id: string; sender_id: string; client_message_id: string }[]>`
    select m.id, m.room_id, m.sender_id, m.client_message_id
    from json_to_recordset(${JSON.stringify(keys)}::text::json)
      as v("roomId" uuid, "senderId" uuid, "clientMessageId" text)
    cross join lateral (
      select id, room_id, sender_id, client_message_id from messages
      where room_id = v."roomId" and sender_id = v."senderId" and client_message_id = v."clientMessageId"
      limit 1) m`;
  return rows.map((r) => ({
    id: r.id,
    roomId: r.room_id,
    senderId: r.sender_id,
    clientMessageId: r.client_message_id,
  }));
}

export interface SentBatch {
  rows: readonly MessageRow[];
  events: readonly LoggedEvent[];
  /** In relay order. */
  outbox: readonly OutboxEvent[];
  /** The rooms' heads after the batch (their locks are held). */
  heads: readonly ({ id: string } & RoomHeads)[];
}

/**
 * A batch's messages, their room_events rows, their outbox events (in
 * order: their relay order), the rooms' new heads, and the relay woken at commit, in ONE statement
 * (data-modifying WITH clauses each run once, read or not). Per batch that is
 * one statement to send, parse and execute instead of four: on the send path
 * the socket writes and the server's per-statement work were a large part of
 * chat-svc's and PostgreSQL's CPU per message.
 */
export function insertSent(tx: Tx, { rows, events, outbox, heads }: SentBatch): PendingQuery<Row[]> {
  const headsJson = JSON.stringify(
    heads.map((h) => ({ id: h.id, headSeq: h.headSeq.toString(), headEventSeq: h.headEventSeq.toString() })),
  );
  const messagesJson = JSON.stringify(
    rows.map((r) => ({
      id: r.id,
      roomId: r.roomId,
      seq: r.seq.toString(),
      senderId: r.senderId,
      senderUsername: r.senderUsername,
      text: r.text,
      clientMessageId: r.clientMessageId,
      parentId: r.parentId,
      mentions: r.mentions,
      createdAt: r.createdAt.toISOString(),
    })),
  );
  const eventsJson = JSON.stringify(
    events.map((e) => ({
      roomId: e.roomId,
      eventSeq: e.eventSeq.toString(),
      payload: e.payload.toString("base64"),
      occurredAt: e.occurredAt.toISOString(),
    })),
  );
  // Not sent here: the caller sends it with the COMMIT behind it.
  return tx`
    with new_heads as (
      update rooms r set head_seq = v."headSeq", head_event_seq = v."headEventSeq"
      from json_to_recordset(${headsJson}::text::json) as v(id uuid, "headSeq" int8, "headEventSeq" int8)
      where r.id = v.id
    ), new_messages as (
      insert into messages (id, room_id, seq, sender_id, sender_username, text, client_message_id, parent_id, mentions, created_at)
      select id, "roomId", seq, "senderId", "senderUsername", text, "clientMessageId", "parentId", mentions, "createdAt"
      from json_to_recordset(${messagesJson}::text::json) as t(
        id uuid, "roomId" uuid, seq int8, "senderId" uuid, "senderUsername" text, text text,
        "clientMessageId" text, "parentId" uuid, mentions text[], "createdAt" timestamptz)
    ), new_events as (
      insert into room_events (room_id, event_seq, payload, occurred_at)
      select "roomId", "eventSeq", decode(payload, 'base64'), "occurredAt"
      from json_to_recordset(${eventsJson}::text::json)
        as t("roomId" uuid, "eventSeq" int8, payload text, "occurredAt" timestamptz)
    ), new_outbox as (${insertOutboxRows(tx, outbox)})
    select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`;
}
