import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { MessageSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { timelineRows } from "./timeline-rows.js";

const DAY = 86_400_000;
const base = Date.UTC(2026, 0, 5, 12);
const msg = (seq: number, sender: string, at: number) =>
  create(MessageSchema, { id: `m${seq}`, seq: BigInt(seq), senderId: sender, createdAt: timestampFromMs(at) });

test("rows: a day separator per day, the divider before the first unread, senders grouped within a day", () => {
  const messages = [
    msg(1, "a", base),
    msg(2, "a", base + 60_000),
    msg(3, "b", base + 120_000),
    msg(4, "b", base + DAY),
    msg(5, "b", base + DAY + 60_000),
  ];
  const rows = timelineRows(messages, [], true, 3n, "a");
  assert.deepEqual(
    rows.map((r) => (r.kind === "message" ? `${r.message.id}${r.grouped ? "+" : ""}` : r.kind)),
    ["start", "day", "m1", "m2+", "m3", "day", "new", "m4", "m5+"],
  );
  assert.equal(rows[0]?.kind === "start" && rows[0].more, true);
});

test("rows: no divider when nothing was unread, and a gap of over 5 minutes starts a new group", () => {
  const rows = timelineRows([msg(1, "a", base), msg(2, "a", base + 6 * 60_000)], [], false, -1n, "b");
  assert.deepEqual(
    rows.map((r) => (r.kind === "message" ? `${r.message.id}${r.grouped ? "+" : ""}` : r.kind)),
    ["start", "day", "m1", "m2"],
  );
});

test("rows: my own unread messages get no divider; the first unread from someone else does", () => {
  const rows = timelineRows(
    [msg(1, "me", base), msg(2, "me", base + 1000), msg(3, "b", base + 2000)],
    [],
    false,
    0n,
    "me",
  );
  assert.deepEqual(
    rows.map((r) => (r.kind === "message" ? r.message.id : r.kind)),
    ["start", "day", "m1", "m2", "new", "m3"],
  );
});
