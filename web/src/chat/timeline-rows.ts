/** The timeline's rows: day separators, the "new messages" divider, messages (grouped by sender), pending sends. */
import type { PendingSend } from "@parley/client";
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import { dateOf, dayKey, dayLabel } from "../ui/time.js";

export type Row =
  | { kind: "start"; key: string; more: boolean }
  | { kind: "day"; key: string; label: string }
  | { kind: "new"; key: string }
  | { kind: "message"; key: string; message: Message; grouped: boolean }
  | { kind: "pending"; key: string; pending: PendingSend };

/** Messages from one sender within this long of each other share one header. */
const GROUP_MS = 5 * 60_000;

export function timelineRows(
  messages: readonly Message[],
  pending: readonly PendingSend[],
  hasOlder: boolean,
  newAfterSeq: bigint | undefined,
  /** The user: their own messages are never "new" (the server counts them unread until marked read). */
  me: string | undefined,
): Row[] {
  const rows: Row[] = [{ kind: "start", key: "start", more: hasOlder }];
  let previous: Message | undefined;
  let dividerPlaced = false;
  for (const m of messages) {
    const day = dayKey(m.createdAt);
    const newDay = !previous || dayKey(previous.createdAt) !== day;
    if (newDay) rows.push({ kind: "day", key: `day:${day}`, label: dayLabel(m.createdAt) });
    const unreadStart =
      !dividerPlaced && newAfterSeq !== undefined && newAfterSeq >= 0n && m.seq > newAfterSeq && m.senderId !== me;
    if (unreadStart) {
      rows.push({ kind: "new", key: "new" });
      dividerPlaced = true;
    }
    const grouped =
      !!previous &&
      !newDay &&
      !unreadStart &&
      !previous.deleted &&
      previous.senderId === m.senderId &&
      dateOf(m.createdAt).getTime() - dateOf(previous.createdAt).getTime() < GROUP_MS;
    rows.push({ kind: "message", key: m.id, message: m, grouped });
    previous = m;
  }
  for (const p of pending) rows.push({ kind: "pending", key: `pending:${p.clientMessageId}`, pending: p });
  return rows;
}
