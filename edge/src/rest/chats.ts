/** /api/chats: rooms, membership, messages and the event log, each one ChatService call. */
import {
  AddMembersRequestSchema,
  AddMembersResponseSchema,
  AddReactionRequestSchema,
  AddReactionResponseSchema,
  CreateRoomRequestSchema,
  CreateRoomResponseSchema,
  DeleteMessageRequestSchema,
  DeleteMessageResponseSchema,
  EditMessageRequestSchema,
  EditMessageResponseSchema,
  GetRoomRequestSchema,
  GetRoomResponseSchema,
  JoinRoomRequestSchema,
  JoinRoomResponseSchema,
  LeaveRoomRequestSchema,
  LeaveRoomResponseSchema,
  ListEventsRequestSchema,
  ListEventsResponseSchema,
  ListMessagesRequestSchema,
  ListMessagesResponseSchema,
  ListPublicRoomsRequestSchema,
  ListPublicRoomsResponseSchema,
  ListRoomsResponseSchema,
  MarkReadRequestSchema,
  MarkReadResponseSchema,
  OpenDirectRoomRequestSchema,
  OpenDirectRoomResponseSchema,
  RemoveMemberRequestSchema,
  RemoveMemberResponseSchema,
  RemoveReactionRequestSchema,
  RemoveReactionResponseSchema,
  SendMessageRequestSchema,
  SendMessageResponseSchema,
  SetMemberRoleRequestSchema,
  SetMemberRoleResponseSchema,
  UpdateRoomRequestSchema,
  UpdateRoomResponseSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import type { FastifyInstance } from "fastify";
import type { ChatClient } from "../clients.js";
import { callOptions, decode, definedOnly, editObject, enumAlias, render, withParams } from "./codec.js";

interface RoomParams {
  id: string;
}

interface MemberParams extends RoomParams {
  userId: string;
}

interface MessageParams extends RoomParams {
  messageId: string;
}

interface ReactionParams extends MessageParams {
  emoji: string;
}

export function chatRoutes(app: FastifyInstance, chat: ChatClient): void {
  app.post("/api/chats/rooms", async (req, reply) => {
    const body = editObject(req.body, (b) => {
      if (b.visibility !== undefined) b.visibility = enumAlias(b.visibility, "ROOM_VISIBILITY_");
      if (b.memberAddPolicy !== undefined) b.memberAddPolicy = enumAlias(b.memberAddPolicy, "MEMBER_ADD_POLICY_");
    });
    const res = await chat.createRoom(decode(CreateRoomRequestSchema, body), callOptions(req));
    return reply.code(201).send(render(CreateRoomResponseSchema, res));
  });

  app.get("/api/chats/rooms", async (req) => {
    const res = await chat.listRooms({}, callOptions(req));
    return render(ListRoomsResponseSchema, res);
  });

  // Static paths win over `:id` in Fastify's router whatever the order.
  app.get<{ Querystring: { prefix?: string; limit?: string } }>("/api/chats/rooms/public", async (req) => {
    const { prefix, limit } = req.query;
    const request = decode(ListPublicRoomsRequestSchema, definedOnly({ namePrefix: prefix, limit }));
    const res = await chat.listPublicRooms(request, callOptions(req));
    return render(ListPublicRoomsResponseSchema, res);
  });

  app.post("/api/chats/direct", async (req, reply) => {
    const res = await chat.openDirectRoom(decode(OpenDirectRoomRequestSchema, req.body), callOptions(req));
    return reply.code(res.created ? 201 : 200).send(render(OpenDirectRoomResponseSchema, res));
  });

  app.get<{ Params: RoomParams }>("/api/chats/rooms/:id", async (req) => {
    const res = await chat.getRoom(decode(GetRoomRequestSchema, { roomId: req.params.id }), callOptions(req));
    return render(GetRoomResponseSchema, res);
  });

  app.patch<{ Params: RoomParams }>("/api/chats/rooms/:id", async (req) => {
    const body = editObject(req.body, (b) => {
      if (b.memberAddPolicy !== undefined) b.memberAddPolicy = enumAlias(b.memberAddPolicy, "MEMBER_ADD_POLICY_");
    });
    const request = decode(UpdateRoomRequestSchema, withParams(body, { roomId: req.params.id }));
    const res = await chat.updateRoom(request, callOptions(req));
    return render(UpdateRoomResponseSchema, res);
  });

  app.post<{ Params: RoomParams }>("/api/chats/rooms/:id/join", async (req) => {
    const res = await chat.joinRoom(decode(JoinRoomRequestSchema, { roomId: req.params.id }), callOptions(req));
    return render(JoinRoomResponseSchema, res);
  });

  app.post<{ Params: RoomParams }>("/api/chats/rooms/:id/leave", async (req) => {
    const res = await chat.leaveRoom(decode(LeaveRoomRequestSchema, { roomId: req.params.id }), callOptions(req));
    return render(LeaveRoomResponseSchema, res);
  });

  app.post<{ Params: RoomParams }>("/api/chats/rooms/:id/members", async (req) => {
    const request = decode(AddMembersRequestSchema, withParams(req.body, { roomId: req.params.id }));
    const res = await chat.addMembers(request, callOptions(req));
    return render(AddMembersResponseSchema, res);
  });

  app.delete<{ Params: MemberParams }>("/api/chats/rooms/:id/members/:userId", async (req) => {
    const { id: roomId, userId } = req.params;
    const res = await chat.removeMember(decode(RemoveMemberRequestSchema, { roomId, userId }), callOptions(req));
    return render(RemoveMemberResponseSchema, res);
  });

  app.put<{ Params: MemberParams }>("/api/chats/rooms/:id/members/:userId/role", async (req) => {
    const { id: roomId, userId } = req.params;
    const body = editObject(req.body, (b) => {
      if (b.role !== undefined) b.role = enumAlias(b.role, "MEMBER_ROLE_");
    });
    const request = decode(SetMemberRoleRequestSchema, withParams(body, { roomId, userId }));
    const res = await chat.setMemberRole(request, callOptions(req));
    return render(SetMemberRoleResponseSchema, res);
  });

  app.get<{ Params: RoomParams; Querystring: { before?: string; after?: string; limit?: string } }>(
    "/api/chats/rooms/:id/messages",
    async (req) => {
      const { before, after, limit } = req.query;
      const request = decode(
        ListMessagesRequestSchema,
        definedOnly({ roomId: req.params.id, beforeSeq: before, afterSeq: after, limit }),
      );
      const res = await chat.listMessages(request, callOptions(req));
      return render(ListMessagesResponseSchema, res);
    },
  );

  app.patch<{ Params: MessageParams }>("/api/chats/rooms/:id/messages/:messageId", async (req) => {
    const { id: roomId, messageId } = req.params;
    const request = decode(EditMessageRequestSchema, withParams(req.body, { roomId, messageId }));
    const res = await chat.editMessage(request, callOptions(req));
    return render(EditMessageResponseSchema, res);
  });

  app.delete<{ Params: MessageParams }>("/api/chats/rooms/:id/messages/:messageId", async (req) => {
    const { id: roomId, messageId } = req.params;
    const res = await chat.deleteMessage(decode(DeleteMessageRequestSchema, { roomId, messageId }), callOptions(req));
    return render(DeleteMessageResponseSchema, res);
  });

  // The router has already percent-decoded `:emoji` ("%F0%9F%91%8D" → "👍").
  app.put<{ Params: ReactionParams }>("/api/chats/rooms/:id/messages/:messageId/reactions/:emoji", async (req) => {
    const { id: roomId, messageId, emoji } = req.params;
    const res = await chat.addReaction(
      decode(AddReactionRequestSchema, { roomId, messageId, emoji }),
      callOptions(req),
    );
    return render(AddReactionResponseSchema, res);
  });

  app.delete<{ Params: ReactionParams }>("/api/chats/rooms/:id/messages/:messageId/reactions/:emoji", async (req) => {
    const { id: roomId, messageId, emoji } = req.params;
    const request = decode(RemoveReactionRequestSchema, { roomId, messageId, emoji });
    const res = await chat.removeReaction(request, callOptions(req));
    return render(RemoveReactionResponseSchema, res);
  });

  app.post<{ Params: RoomParams }>("/api/chats/rooms/:id/read", async (req) => {
    const request = decode(MarkReadRequestSchema, withParams(req.body, { roomId: req.params.id }));
    const res = await chat.markRead(request, callOptions(req));
    return render(MarkReadResponseSchema, res);
  });

  app.get<{ Params: RoomParams; Querystring: { after?: string; limit?: string } }>(
    "/api/chats/rooms/:id/events",
    async (req) => {
      const { after, limit } = req.query;
      const request = decode(
        ListEventsRequestSchema,
        definedOnly({ roomId: req.params.id, afterEventSeq: after, limit }),
      );
      const res = await chat.listEvents(request, callOptions(req));
      return render(ListEventsResponseSchema, res);
    },
  );

  app.post("/api/chats/messages", async (req, reply) => {
    // The seed's body names the text `message`; `text` (the proto name) works too. `parentId` makes it a reply.
    const body = editObject(req.body, (b) => {
      if (b.text === undefined && b.message !== undefined) b.text = b.message;
      delete b.message;
    });
    const res = await chat.sendMessage(decode(SendMessageRequestSchema, body), callOptions(req));
    return reply.code(201).send(render(SendMessageResponseSchema, res));
  });
}
