/**
 * Messages that go on the wire as bytes the process already holds. chat-svc
 * streams each room event, encoded once at commit (or received from another
 * instance already encoded), to every edge: building the response objects
 * only for grpc-js to encode them again cost a RoomEvent's toBinary per event
 * per stream. SendMessages answers with the Message bytes those events carry. Such a message is registered here with its bytes and is
 * serialized as them (grpc-server.ts); its fields are never decoded in this
 * process, so it must not be read, only sent.
 */
import {
  create,
  type DescField,
  type DescMessage,
  type Message,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

const wireBytes = new WeakMap<Message, Uint8Array>();

/** A message sent as `bytes`, which must be a valid binary encoding of `schema`. */
export function preEncoded<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  const message = create(schema);
  wireBytes.set(message, bytes);
  return message;
}

/** The message's binary encoding: its registered bytes, or toBinary. */
export function encodeMessage(schema: DescMessage, message: Message): Uint8Array {
  return wireBytes.get(message) ?? toBinary(schema, message);
}

/**
 * Each payload as one occurrence of the message field `field`: its tag, its
 * length and its bytes. That is what toBinary writes for a repeated message
 * field holding messages with these encodings (or, given one payload, for a
 * singular one), without decoding or encoding them again.
 */
export function embedded(field: DescField, payloads: readonly Uint8Array[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const p of payloads) writer.tag(field.number, WireType.LengthDelimited).bytes(p);
  return writer.finish();
}
