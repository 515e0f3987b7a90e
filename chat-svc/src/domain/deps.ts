import type { Sql } from "@parley/shared/postgres.js";
import type { Redis } from "@parley/shared/redis.js";
import type { RoomEventPublisher } from "../room-events.js";
import type { Db, Queryable } from "../storage/db.js";
import type { LoggedEvent } from "../storage/event-log.js";
import type { MemberAddBudget } from "../storage/member-add-budget.js";
import type { ReactionSummary } from "../storage/messages.js";
import type { MemberRow, MessageRow, RoomRow } from "../storage/schema.js";
import type { UserLookup } from "../user-lookup.js";
import type { ActionBudgets } from "./action-budgets.js";

/** What domain actions run against. */
export interface DomainDeps {
  db: Db;
  /** The client under `db`, for the batched send path's plain SQL. */
  sql: Sql;
  redis: Redis;
  /** REDIS_KEY_PREFIX. */
  keyPrefix: string;
  events: RoomEventPublisher;
  /** user-svc, asked about users the directory lacks (user-directory.ts). */
  users: Pick<UserLookup, "lookup">;
  /** MEMBER_ADDS_PER_MINUTE per caller. */
  memberAdds: MemberAddBudget;
  /** Each user's budget for sends, edits, reactions and read markers. */
  budgets: ActionBudgets;
  /** Different reactions a message takes, and one user may put on it. */
  reactionLimits: ReactionLimits;
}

export interface ReactionLimits {
  perMessage: number;
  perUser: number;
}

/** A message as callers see it: the row and its reactions. */
export interface MessageView {
  row: MessageRow;
  reactions: ReactionSummary[];
  /** Its parley.chat.v1.Message binary encoding, when the send that stored it made one. */
  encoded?: Uint8Array;
}

/** A room as callers see it: the row and who belongs to it, in member order. */
export interface RoomView {
  room: RoomRow;
  members: MemberRow[];
}

/**
 * Runs `work` in one transaction; the events it appends to room logs
 * (pushed onto `logged`) are published once the transaction has committed,
 * never before and never if it rolls back.
 */
export async function inRoomTransaction<T>(
  { db, events }: Pick<DomainDeps, "db" | "events">,
  work: (tx: Queryable, logged: LoggedEvent[]) => Promise<T>,
): Promise<T> {
  const logged: LoggedEvent[] = [];
  const result = await db.transaction((tx) => work(tx, logged));
  events.publish(logged);
  return result;
}
