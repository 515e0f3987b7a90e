/**
 * parley.chat.v1.ChatService over gRPC: authenticate, translate between proto
 * and domain, nothing else. Requests arrive already validated against their
 * proto constraints (grpcHandlers).
 */
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type ChatService,
  SendMessageRequestSchema,
  StreamEventsResponseSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import { appError, Code, toItemStatus } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import { preEncoded } from "@parley/shared/pre-encoded.js";
import type { Authenticator } from "@parley/shared/sessions.js";
import { validationError } from "@parley/shared/validation.js";
import { addMembers } from "../domain/add-members.js";
import { createRoom } from "../domain/create-room.js";
import { deleteMessage } from "../domain/delete-message.js";
import type { DomainDeps, MessageView, RoomView } from "../domain/deps.js";
import { editMessage } from "../domain/edit-message.js";
import { getRoom, getRoomHead } from "../domain/get-room.js";
import { joinRoom } from "../domain/join-room.js";
import { leaveRoom } from "../domain/leave-room.js";
import { listEvents } from "../domain/list-events.js";
import { listMessages } from "../domain/list-messages.js";
import { listPublicRooms, listRooms } from "../domain/list-rooms.js";
import { markRead } from "../domain/mark-read.js";
import { openDirectRoom } from "../domain/open-direct-room.js";
import type { PresenceService } from "../domain/presence.js";
import { setReaction } from "../domain/reactions.js";
import { removeMember } from "../domain/remove-member.js";
import type { MessageSender } from "../domain/send-message.js";
import { setMemberRole } from "../domain/set-member-role.js";
import { sendTyping } from "../domain/typing.js";
import { updateRoom } from "../domain/update-room.js";
import type { Fanout } from "../fanout.js";
import {
  assignableRoleFromProto,
  memberAddPolicyFromProto,
  messageToProto,
  roomToProto,
  visibilityFromProto,
} from "../mapping.js";
import { encodeStreamEvents } from "../room-events.js";
import { errorResult, messageResult, sendMessageResponse, sendMessagesResponse } from "./send-messages-response.js";

const room = (view: RoomView) => ({ room: roomToProto(view.room, view.members) });
const message = (sent: MessageView) => ({ message: messageToProto(sent.row, sent.reactions) });

export function chatService(deps: {
  domain: DomainDeps;
  sender: MessageSender;
  presence: PresenceService;
  auth: Authenticator;
  fanout: Fanout;
  logger: Logger;
}): ServiceImpl<typeof ChatService> {
  const { domain, sender, presence, auth, fanout, logger } = deps;
  const caller = (ctx: HandlerContext) => auth.authenticate(ctx.requestHeader);

  return {
    async createRoom(req, ctx) {
      const view = await createRoom(domain, await caller(ctx), {
        name: req.name,
        visibility: visibilityFromProto(req.visibility),
        memberIds: req.memberIds,
        topic: req.topic,
        memberAddPolicy: memberAddPolicyFromProto(req.memberAddPolicy),
      });
      return room(view);
    },

    async openDirectRoom(req, ctx) {
      const view = await openDirectRoom(domain, await caller(ctx), req.userId);
      return { ...room(view), created: view.created };
    },

    async getRoom(req, ctx) {
      const view = await getRoom(domain, await caller(ctx), req.roomId);
      return { room: roomToProto(view.room, view.members, view.online, view.deactivated) };
    },

    async getRoomHead(req, ctx) {
      return getRoomHead(domain, await caller(ctx), req.roomId);
    },

    async updateRoom(req, ctx) {
      return room(
        await updateRoom(domain, await caller(ctx), {
          roomId: req.roomId,
          name: req.name,
          topic: req.topic,
          memberAddPolicy:
            req.memberAddPolicy === undefined ? undefined : memberAddPolicyFromProto(req.memberAddPolicy),
        }),
      );
    },

    async listRooms(_req, ctx) {
      const summaries = await listRooms(domain, await caller(ctx));
      return {
        rooms: summaries.map((s) => ({
          room: roomToProto(s.room, s.members),
          ...(s.lastMessage ? { lastMessage: messageToProto(s.lastMessage.row, s.lastMessage.reactions) } : {}),
          lastReadSeq: s.lastReadSeq,
          unreadCount: s.unreadCount,
          unreadMentionCount: s.unreadMentionCount,
        })),
      };
    },

    async listPublicRooms(req, ctx) {
      await caller(ctx);
      const rooms = await listPublicRooms(domain, { namePrefix: req.namePrefix, limit: req.limit });
      return { rooms: rooms.map((r) => roomToProto(r)) };
    },

    async joinRoom(req, ctx) {
      return room(await joinRoom(domain, await caller(ctx), req.roomId));
    },

    async addMembers(req, ctx) {
      return room(await addMembers(domain, await caller(ctx), { roomId: req.roomId, userIds: req.userIds }));
    },

    async leaveRoom(req, ctx) {
      await leaveRoom(domain, await caller(ctx), req.roomId);
      return {};
    },

    async removeMember(req, ctx) {
      await removeMember(domain, await caller(ctx), { roomId: req.roomId, userId: req.userId });
      return {};
    },

    async setMemberRole(req, ctx) {
      await setMemberRole(domain, await caller(ctx), {
        roomId: req.roomId,
        userId: req.userId,
        role: assignableRoleFromProto(req.role),
      });
      return {};
    },

    async sendMessage(req, ctx) {
      const sent = await sender.send(await caller(ctx), {
        roomId: req.roomId,
        text: req.text,
        clientMessageId: req.clientMessageId,
        parentId: req.parentId,
      });
      return sendMessageResponse(sent);
    },

    async sendMessages(req, ctx) {
      await auth.authenticateService(ctx.requestHeader);
      // Signatures now; the sessions' Redis round trip overlaps the batch's first one.
      const callers = await auth.verifyTokens(req.items.map((item) => item.accessToken));
      // Every item enters the send batcher in this same turn, so the whole call shares its transactions.
      const outcomes = await Promise.allSettled(
        req.items.map((item, i) => {
          const caller = callers[i];
          if (!caller || caller.status === "rejected") return Promise.reject(caller?.reason);
          const input = item.request;
          if (!input) return Promise.reject(appError(Code.InvalidArgument, "INVALID_ARGUMENT", "request: required"));
          const violation = validationError(SendMessageRequestSchema, input);
          if (violation) return Promise.reject(violation);
          return sender.send(caller.value.identity, input, caller.value.live);
        }),
      );
      return sendMessagesResponse(
        outcomes.map((outcome) => {
          if (outcome.status === "fulfilled") return messageResult(outcome.value);
          if (!(outcome.reason instanceof ConnectError)) {
            logger.error({ err: outcome.reason }, "unexpected error in a batched send");
          }
          return errorResult(toItemStatus(outcome.reason));
        }),
      );
    },

    async editMessage(req, ctx) {
      const input = { roomId: req.roomId, messageId: req.messageId, text: req.text };
      return message(await editMessage(domain, await caller(ctx), input));
    },

    async deleteMessage(req, ctx) {
      return message(await deleteMessage(domain, await caller(ctx), { roomId: req.roomId, messageId: req.messageId }));
    },

    async addReaction(req, ctx) {
      const input = { roomId: req.roomId, messageId: req.messageId, emoji: req.emoji, added: true };
      return message(await setReaction(domain, await caller(ctx), input));
    },

    async removeReaction(req, ctx) {
      const input = { roomId: req.roomId, messageId: req.messageId, emoji: req.emoji, added: false };
      return message(await setReaction(domain, await caller(ctx), input));
    },

    async listMessages(req, ctx) {
      const page = await listMessages(domain, await caller(ctx), {
        roomId: req.roomId,
        beforeSeq: req.beforeSeq,
        afterSeq: req.afterSeq,
        limit: req.limit,
      });
      return {
        messages: page.messages.map((m) => messageToProto(m.row, m.reactions)),
        headSeq: page.headSeq,
        hasMore: page.hasMore,
      };
    },

    async listEvents(req, ctx) {
      return listEvents(domain, await caller(ctx), {
        roomId: req.roomId,
        afterEventSeq: req.afterEventSeq,
        limit: req.limit,
      });
    },

    async markRead(req, ctx) {
      return markRead(domain, await caller(ctx), { roomId: req.roomId, seq: req.seq });
    },

    async sendTyping(req, ctx) {
      await sendTyping(domain, await caller(ctx), req.roomId);
      return {};
    },

    async setPresence(req, ctx) {
      await auth.authenticateService(ctx.requestHeader);
      await presence.set(req.userId, req.socketId, req.online);
      return {};
    },

    async *streamEvents(_req, ctx) {
      await auth.authenticateService(ctx.requestHeader);
      // Registered before "ready" goes out: everything published after the
      // edge sees it will be delivered on this stream.
      const events = fanout.subscribe(ctx.signal);
      yield { ready: true };
      for await (const run of events) yield preEncoded(StreamEventsResponseSchema, encodeStreamEvents(run));
    },
  };
}
