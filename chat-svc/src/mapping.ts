/** Rows to their protobuf shapes, for responses and for room events alike. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Member,
  MemberAddPolicy as MemberAddPolicyProto,
  type MemberChanged_Change,
  MemberChangedSchema,
  MemberRole as MemberRoleProto,
  MemberSchema,
  type Message,
  MessageSchema,
  type Room,
  RoomKind as RoomKindProto,
  RoomSchema,
  RoomVisibility,
} from "@parley/proto/chat/v1/chat_pb.js";
import type { DurableKind } from "./room-events.js";
import type { ReactionSummary } from "./storage/messages.js";
import type {
  MemberAddPolicy,
  MemberRole,
  MemberRow,
  MessageRow,
  RoomKind,
  RoomRow,
  Visibility,
} from "./storage/schema.js";

export function visibilityFromProto(v: RoomVisibility): Visibility {
  return v === RoomVisibility.PRIVATE ? "private" : "public";
}

export function visibilityToProto(v: Visibility): RoomVisibility {
  return v === "private" ? RoomVisibility.PRIVATE : RoomVisibility.PUBLIC;
}

export function kindToProto(kind: RoomKind): RoomKindProto {
  return kind === "direct" ? RoomKindProto.DIRECT : RoomKindProto.GROUP;
}

/** Unspecified (a CreateRoom that does not say) is owners and admins. */
export function memberAddPolicyFromProto(p: MemberAddPolicyProto): MemberAddPolicy {
  return p === MemberAddPolicyProto.MEMBERS ? "members" : "admins";
}

export function memberAddPolicyToProto(p: MemberAddPolicy): MemberAddPolicyProto {
  return p === "members" ? MemberAddPolicyProto.MEMBERS : MemberAddPolicyProto.ADMINS;
}

const roleToProtoMap: Record<MemberRole, MemberRoleProto> = {
  owner: MemberRoleProto.OWNER,
  admin: MemberRoleProto.ADMIN,
  member: MemberRoleProto.MEMBER,
};

export function roleToProto(role: MemberRole): MemberRoleProto {
  return roleToProtoMap[role];
}

/** For SetMemberRole, whose request is validated to ADMIN or MEMBER. */
export function assignableRoleFromProto(role: MemberRoleProto): "admin" | "member" {
  return role === MemberRoleProto.ADMIN ? "admin" : "member";
}

export function memberToProto(m: MemberRow, online = false, deactivated = false): Member {
  return create(MemberSchema, {
    userId: m.userId,
    role: roleToProto(m.role),
    lastReadSeq: m.lastReadSeq,
    joinedAt: timestampFromDate(m.joinedAt),
    online,
    deactivated,
  });
}

/**
 * A room with its members (in the order of `sortMembers`). `members`
 * undefined leaves both member fields empty, for listings that do not load
 * them; `online`, the members with a live socket, when presence was read;
 * `deactivated`, the deactivated members, when the directory was read.
 */
export function roomToProto(
  room: RoomRow,
  members?: readonly MemberRow[],
  online?: ReadonlySet<string>,
  deactivated?: ReadonlySet<string>,
): Room {
  return create(RoomSchema, {
    id: room.id,
    name: room.name,
    visibility: visibilityToProto(room.visibility),
    createdBy: room.createdBy,
    headSeq: room.headSeq,
    memberIds: members?.map((m) => m.userId) ?? [],
    createdAt: timestampFromDate(room.createdAt),
    kind: kindToProto(room.kind),
    topic: room.topic,
    members: members?.map((m) => memberToProto(m, online?.has(m.userId), deactivated?.has(m.userId))) ?? [],
    headEventSeq: room.headEventSeq,
    memberAddPolicy: memberAddPolicyToProto(room.memberAddPolicy),
  });
}

export function messageToProto(row: MessageRow, reactions: readonly ReactionSummary[] = []): Message {
  return create(MessageSchema, {
    id: row.id,
    roomId: row.roomId,
    seq: row.seq,
    senderId: row.senderId,
    senderUsername: row.senderUsername,
    text: row.text,
    clientMessageId: row.clientMessageId ?? "",
    createdAt: timestampFromDate(row.createdAt),
    parentId: row.parentId ?? "",
    mentions: row.mentions,
    ...(row.editedAt ? { editedAt: timestampFromDate(row.editedAt) } : {}),
    deleted: row.deletedAt !== null,
    reactions: reactions.map((r) => ({ emoji: r.emoji, userIds: [...r.userIds] })),
  });
}

/** The event-log entry for a membership change; `role` is the role held after the change (before it, when leaving). */
export function memberChanged(
  userId: string,
  change: MemberChanged_Change,
  role: MemberRole,
  byUserId: string,
): DurableKind {
  return {
    case: "memberChanged",
    value: create(MemberChangedSchema, { userId, change, role: roleToProto(role), byUserId }),
  };
}
