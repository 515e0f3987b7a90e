/** Rows to their protobuf shapes, for responses and for room events alike. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Message, MessageSchema, type Room, RoomSchema, RoomVisibility } from "@parley/proto/chat/v1/chat_pb.js";
import type { MessageRow, RoomRow, Visibility } from "./storage/schema.js";

export function visibilityFromProto(v: RoomVisibility): Visibility {
  return v === RoomVisibility.PRIVATE ? "private" : "public";
}

export function visibilityToProto(v: Visibility): RoomVisibility {
  return v === "private" ? RoomVisibility.PRIVATE : RoomVisibility.PUBLIC;
}

export function roomToProto(room: RoomRow, memberIds: readonly string[]): Room {
  return create(RoomSchema, {
    id: room.id,
    name: room.name,
    visibility: visibilityToProto(room.visibility),
    createdBy: room.createdBy,
    headSeq: room.headSeq,
    memberIds: [...memberIds],
    createdAt: timestampFromDate(room.createdAt),
  });
}

export function messageToProto(row: MessageRow): Message {
  return create(MessageSchema, {
    id: row.id,
    roomId: row.roomId,
    seq: row.seq,
    senderId: row.senderId,
    senderUsername: row.senderUsername,
    text: row.text,
    clientMessageId: row.clientMessageId ?? "",
    createdAt: timestampFromDate(row.createdAt),
  });
}
