/** /api/chats: rooms and messages, each one ChatService call. */
import {
  CreateRoomRequestSchema,
  CreateRoomResponseSchema,
  GetRoomRequestSchema,
  GetRoomResponseSchema,
  JoinRoomRequestSchema,
  JoinRoomResponseSchema,
  ListMessagesRequestSchema,
  ListMessagesResponseSchema,
  SendMessageRequestSchema,
  SendMessageResponseSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import type { FastifyInstance } from "fastify";
import type { ChatClient } from "../clients.js";
import { callOptions, decode, editObject, enumAlias, render } from "./codec.js";

interface RoomParams {
  id: string;
}

interface ListQuery {
  before?: string;
  after?: string;
  limit?: string;
}

export function chatRoutes(app: FastifyInstance, chat: ChatClient): void {
  app.post("/api/chats/rooms", async (req, reply) => {
    const body = editObject(req.body, (b) => {
      if (b.visibility !== undefined) b.visibility = enumAlias(b.visibility, "ROOM_VISIBILITY_");
    });
    const res = await chat.createRoom(decode(CreateRoomRequestSchema, body), callOptions(req));
    return reply.code(201).send(render(CreateRoomResponseSchema, res));
  });

  app.get<{ Params: RoomParams }>("/api/chats/rooms/:id", async (req) => {
    const res = await chat.getRoom(decode(GetRoomRequestSchema, { roomId: req.params.id }), callOptions(req));
    return render(GetRoomResponseSchema, res);
  });

  app.post<{ Params: RoomParams }>("/api/chats/rooms/:id/join", async (req) => {
    const res = await chat.joinRoom(decode(JoinRoomRequestSchema, { roomId: req.params.id }), callOptions(req));
    return render(JoinRoomResponseSchema, res);
  });

  app.get<{ Params: RoomParams; Querystring: ListQuery }>("/api/chats/rooms/:id/messages", async (req) => {
    const { before, after, limit } = req.query;
    const request = decode(ListMessagesRequestSchema, {
      roomId: req.params.id,
      ...(before !== undefined ? { beforeSeq: before } : {}),
      ...(after !== undefined ? { afterSeq: after } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    const res = await chat.listMessages(request, callOptions(req));
    return render(ListMessagesResponseSchema, res);
  });

  app.post("/api/chats/messages", async (req, reply) => {
    // The seed's body names the text `message`; `text` (the proto name) works too.
    const body = editObject(req.body, (b) => {
      if (b.text === undefined && b.message !== undefined) b.text = b.message;
      delete b.message;
    });
    const res = await chat.sendMessage(decode(SendMessageRequestSchema, body), callOptions(req));
    return reply.code(201).send(render(SendMessageResponseSchema, res));
  });
}
