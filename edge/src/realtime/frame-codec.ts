/**
 * WebSocket frames: protobuf JSON text of parley.realtime.v1 ClientFrame and
 * ServerFrame. Whatever arrives, decoding yields a frame or an InvalidArgument
 * error (with the frame's `ref` when one can be read); it never throws.
 */
import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import type { RoomEvent } from "@parley/proto/chat/v1/chat_pb.js";
import { type ClientFrame, ClientFrameSchema, ServerFrameSchema } from "@parley/proto/realtime/v1/realtime_pb.js";
import { appError, errorReason } from "@parley/shared/errors.js";
import { validationError } from "@parley/shared/validation.js";
import { codeName, retryAfterSeconds } from "../http-errors.js";
import { jsonWriter } from "./compiled-json.js";

export type DecodedFrame = { ok: true; frame: ClientFrame } | { ok: false; ref: string; error: ConnectError };

function invalid(message: string): ConnectError {
  return appError(Code.InvalidArgument, "INVALID_FRAME", message);
}

function refOf(json: unknown): string {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "";
  const ref = (json as { ref?: unknown }).ref;
  return typeof ref === "string" ? ref.slice(0, 64) : "";
}

export function decodeClientFrame(text: string): DecodedFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, ref: "", error: invalid("the frame is not valid JSON") };
  }
  const ref = refOf(json);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, ref, error: invalid("a frame must be a JSON object") };
  }
  let frame: ClientFrame;
  try {
    frame = fromJson(ClientFrameSchema, json as JsonValue);
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^cannot decode [\w.]+ [\w.]+ from JSON: /, "") : "";
    return { ok: false, ref, error: invalid(`not a valid frame: ${detail}`) };
  }
  const violation = validationError(ClientFrameSchema, frame);
  if (violation) return { ok: false, ref, error: violation };
  return { ok: true, frame };
}

export type ServerFrameInit = MessageInitShape<typeof ServerFrameSchema>;

const writeServerFrame = jsonWriter(ServerFrameSchema);

/** The frame's protobuf JSON (what toJsonString writes; compiled-json.ts). */
export function encodeServerFrame(frame: ServerFrameInit): string {
  return writeServerFrame(create(ServerFrameSchema, frame));
}

export function encodeError(err: ConnectError, ref = ""): string {
  return encodeServerFrame({
    ref,
    kind: {
      case: "error",
      value: {
        code: codeName(err.code),
        message: err.rawMessage,
        reason: errorReason(err),
        retryAfterSeconds: retryAfterSeconds(err) ?? 0,
      },
    },
  });
}

/**
 * A frame for many sockets, encoded once: its JSON as UTF-8, and the whole
 * WebSocket frame (header and payload) as it goes on the wire. A server's
 * frames are never masked and, with compression off, never transformed, so
 * one text frame's bytes are the same for every socket: each socket is
 * handed them in one write, with nothing framed, copied or allocated for it.
 */
export interface BroadcastFrame {
  readonly payload: Buffer;
  readonly wire: Buffer;
  /** `wire` begins with a protocol ping: a socket sent `payload` instead pings too. */
  readonly ping?: true;
}

/** What a socket is given to send: a frame's JSON text, or a broadcast frame; ws is told it is text either way. */
export type OutFrame = string | BroadcastFrame;

/** RFC 6455 §5.2: FIN and the text opcode, then the payload length in 7, 7+16 or 7+64 bits; no mask. */
export function broadcastFrame(json: string): BroadcastFrame {
  const n = Buffer.byteLength(json);
  const headerLength = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const wire = Buffer.allocUnsafe(headerLength + n);
  wire[0] = 0x81;
  if (n < 126) {
    wire[1] = n;
  } else if (n < 65_536) {
    wire[1] = 126;
    wire.writeUInt16BE(n, 2);
  } else {
    wire[1] = 127;
    wire.writeBigUInt64BE(BigInt(n), 2);
  }
  // Encoded straight into the frame: one encode, no copy.
  wire.write(json, headerLength);
  return { payload: wire.subarray(headerLength), wire };
}

/** One socket's text frame, header and payload, as it goes on the wire. */
export function textFrame(json: string): Buffer {
  return broadcastFrame(json).wire;
}

/** RFC 6455 §5.5.2: FIN and the ping opcode, no payload, no mask. */
const PING = Buffer.from([0x89, 0x00]);

/** A heartbeat and the protocol ping before it, for one write per socket. */
export function heartbeatFrame(json: string): BroadcastFrame {
  const frame = broadcastFrame(json);
  return { payload: frame.payload, wire: Buffer.concat([PING, frame.wire]), ping: true };
}

/** An event frame for fan-out, encoded once however many sockets get it. */
export function encodeEvent(event: RoomEvent): BroadcastFrame {
  return broadcastFrame(encodeServerFrame({ kind: { case: "event", value: event } }));
}
