/**
 * SendMessage and SendMessages answers as bytes. A message the call just
 * stored is answered with the encoding its room event already carries
 * (domain/send-message.ts) instead of being mapped and encoded again; the
 * gRPC server sends the response as those bytes (shared/pre-encoded.ts).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  MessageSchema,
  type SendMessageResponse,
  SendMessageResponseSchema,
  type SendMessagesResponse,
  SendMessagesResponseSchema,
  SendMessagesResultSchema,
} from "@parley/proto/chat/v1/chat_pb.js";
import type { Status } from "@parley/proto/rpc/v1/error_pb.js";
import { embedded, preEncoded } from "@parley/shared/pre-encoded.js";
import type { MessageView } from "../domain/deps.js";
import { messageToProto } from "../mapping.js";

/** The message's encoding: the send's own, or (a message stored by an earlier send) mapped and encoded here. */
function messageBytes(view: MessageView): Uint8Array {
  return view.encoded ?? toBinary(MessageSchema, messageToProto(view.row, view.reactions));
}

/** SendMessage's response carrying the stored message. */
export function sendMessageResponse(view: MessageView): SendMessageResponse {
  return preEncoded(SendMessageResponseSchema, embedded(SendMessageResponseSchema.field.message, [messageBytes(view)]));
}

/** A SendMessagesResult carrying the stored message. */
export function messageResult(view: MessageView): Uint8Array {
  return embedded(SendMessagesResultSchema.field.message, [messageBytes(view)]);
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
