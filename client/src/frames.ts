/**
 * The one place that builds `ClientFrame`s and reads `ServerFrame`s
 * (protobuf JSON in text frames, README "WebSocket protocol"). Everything
 * else asks for a frame by what it does, so a change to the frame messages
 * is an edit here only.
 */
import { create, fromJsonString, type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import {
  type ClientFrame,
  ClientFrameSchema,
  type ServerFrame,
  ServerFrameSchema,
} from "@parley/proto/realtime/v1/realtime_pb.js";

export type { ServerFrame };

/** What a client frame asks for, without its `ref`. */
export type ClientFrameKind = NonNullable<MessageInitShape<typeof ClientFrameSchema>["kind"]>;

export interface OutgoingMessage {
  roomId: string;
  text: string;
  clientMessageId: string;
  parentId?: string | undefined;
}

export const clientFrames = {
  authenticate: (token: string): ClientFrameKind => ({ case: "authenticate", value: { token } }),
  subscribe: (roomId: string, afterEventSeq: bigint): ClientFrameKind => ({
    case: "subscribe",
    value: { roomId, afterEventSeq },
  }),
  unsubscribe: (roomId: string): ClientFrameKind => ({ case: "unsubscribe", value: { roomId } }),
  send: (m: OutgoingMessage): ClientFrameKind => ({
    case: "send",
    value: { roomId: m.roomId, text: m.text, clientMessageId: m.clientMessageId, parentId: m.parentId ?? "" },
  }),
  edit: (roomId: string, messageId: string, text: string): ClientFrameKind => ({
    case: "edit",
    value: { roomId, messageId, text },
  }),
  delete: (roomId: string, messageId: string): ClientFrameKind => ({ case: "delete", value: { roomId, messageId } }),
  react: (roomId: string, messageId: string, emoji: string): ClientFrameKind => ({
    case: "react",
    value: { roomId, messageId, emoji },
  }),
  unreact: (roomId: string, messageId: string, emoji: string): ClientFrameKind => ({
    case: "unreact",
    value: { roomId, messageId, emoji },
  }),
  typing: (roomId: string): ClientFrameKind => ({ case: "typing", value: { roomId } }),
  markRead: (roomId: string, seq: bigint): ClientFrameKind => ({ case: "markRead", value: { roomId, seq } }),
  ping: (): ClientFrameKind => ({ case: "ping", value: {} }),
};

export function encodeClientFrame(ref: string, kind: ClientFrameKind): string {
  const frame: ClientFrame = create(ClientFrameSchema, { ref, kind });
  return toJsonString(ClientFrameSchema, frame);
}

/** Fields a newer server adds are skipped, so an older client keeps working. */
export function decodeServerFrame(text: string): ServerFrame {
  return fromJsonString(ServerFrameSchema, text, { ignoreUnknownFields: true });
}
