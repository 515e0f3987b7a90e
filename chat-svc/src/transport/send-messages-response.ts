/**
 * SendMessages answers as bytes. A message the call just stored is answered
 * with the encoding its room event already carries (domain/send-message.ts)
 * instead of being mapped and encoded again; the gRPC server sends the
 * response as those bytes (shared/pre-encoded.ts).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  MessageSchema,
  type SendMessagesResponse,
  SendMessagesResponseSchema,
  SendMessagesResultSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import type { Status } from "@parley/proto/rpc/v1/error_pb.js";
import { embedded, preEncoded } from "@parley/shared/pre-encoded.js";
import type { MessageView } from "../domain/deps.js";
import { messageToProto } from "../mapping.js";

/** A SendMessagesResult carrying the stored message. */
export function messageResult(view: MessageView): Uint8Array {
  const message = view.encoded ?? toBinary(MessageSchema, messageToProto(view.row, view.reactions));
  return embedded(SendMessagesResultSchema.field.message, [message]);
}

/** A SendMessagesResult carrying the item's error. */
export function errorResult(status: Status): Uint8Array {
  return toBinary(
    SendMessagesResultSchema,
    create(SendMessagesResultSchema, { outcome: { case: "error", value: status } }),
  );
}

/** The response holding these results, in order. */
export function sendMessagesResponse(results: readonly Uint8Array[]): SendMessagesResponse {
  return preEncoded(SendMessagesResponseSchema, embedded(SendMessagesResponseSchema.field.results, results));
}
