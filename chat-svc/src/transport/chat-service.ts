/**
 * parley.chat.v1.ChatService over gRPC: authenticate, translate between proto
 * and domain, nothing else. Requests arrive already validated against their
 * proto constraints (grpcHandlers).
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import type { Authenticator } from "@parley/shared/sessions.js";
import { createRoom } from "../domain/create-room.js";
import type { DomainDeps } from "../domain/deps.js";
import { getRoom } from "../domain/get-room.js";
import { joinRoom } from "../domain/join-room.js";
import { listMessages } from "../domain/list-messages.js";
import { sendMessage } from "../domain/send-message.js";
import type { Fanout } from "../fanout.js";
import { messageToProto, roomToProto, visibilityFromProto } from "../mapping.js";

export function chatService(deps: {
  domain: DomainDeps;
  auth: Authenticator;
  fanout: Fanout;
}): ServiceImpl<typeof ChatService> {
  const { domain, auth, fanout } = deps;
  const caller = (ctx: HandlerContext) => auth.authenticate(ctx.requestHeader);

  return {
    async createRoom(req, ctx) {
      const view = await createRoom(domain, await caller(ctx), {
        name: req.name,
        visibility: visibilityFromProto(req.visibility),
        memberIds: req.memberIds,
      });
      return { room: roomToProto(view.room, view.memberIds) };
    },

    async joinRoom(req, ctx) {
      const view = await joinRoom(domain, await caller(ctx), req.roomId);
      return { room: roomToProto(view.room, view.memberIds) };
    },

    async getRoom(req, ctx) {
      const view = await getRoom(domain, await caller(ctx), req.roomId);
      return { room: roomToProto(view.room, view.memberIds) };
    },

    async sendMessage(req, ctx) {
      const message = await sendMessage(domain, await caller(ctx), {
        roomId: req.roomId,
        text: req.text,
        clientMessageId: req.clientMessageId,
      });
      return { message: messageToProto(message) };
    },

    async listMessages(req, ctx) {
      const page = await listMessages(domain, await caller(ctx), {
        roomId: req.roomId,
        beforeSeq: req.beforeSeq,
        afterSeq: req.afterSeq,
        limit: req.limit,
      });
      return { messages: page.messages.map(messageToProto), headSeq: page.headSeq, hasMore: page.hasMore };
    },

    async *streamEvents(_req, ctx) {
      await auth.authenticateService(ctx.requestHeader);
      for await (const event of fanout.subscribe(ctx.signal)) yield { event };
    },
  };
}
