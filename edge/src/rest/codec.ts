/**
 * JSON in and out of the REST routes: bodies become request messages with
 * fromJson (so a wrong type is a 400 naming the field, never a crash) and are
 * checked against the proto's constraints before a service is called;
 * responses are proto messages rendered as proto JSON.
 */
import { isUtf8 } from "node:buffer";
import { type DescMessage, fromJson, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type CallOptions, Code } from "@connectrpc/connect";
import { appError } from "@parley/shared/errors.js";
import { validationError } from "@parley/shared/validation.js";
import type { FastifyRequest } from "fastify";
import { clientCall } from "../forwarding.js";

/**
 * A JSON body's text. JSON must be UTF-8 (RFC 8259); a body that is not is
 * refused, as the WebSocket (close 1007), Connect and gRPC refuse it, instead
 * of being stored with U+FFFD where its bad bytes were.
 */
export function jsonText(body: Buffer): string {
  if (!isUtf8(body)) throw appError(Code.InvalidArgument, "MALFORMED_JSON", "the body is not valid UTF-8");
  return body.toString("utf8");
}

/**
 * "cannot decode field parley.x.v1.Foo.bar from JSON: …" → "bar: …"; an
 * unknown enum value is put on the field that holds it, with the names it
 * could have been.
 */
function describeDecodeError(schema: DescMessage, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const field = /^cannot decode field (?:[\w]+\.)*(\w+) from JSON: (.*)$/s.exec(message);
  if (field) return `${field[1]}: ${field[2]}`;
  const oneof = /^cannot decode oneof (?:[\w]+\.)*(\w+) from JSON: oneof set multiple times by (\w+) and (\w+)$/s.exec(
    message,
  );
  if (oneof) return `${oneof[1]}: give ${oneof[2]} or ${oneof[3]}, not both`;
  const badEnum = /^cannot decode enum ([\w.]+) from JSON: (.*)$/s.exec(message);
  const holder = badEnum && schema.fields.find((f) => f.enum?.typeName === badEnum[1]);
  if (badEnum && holder?.enum) {
    // localName is the value's name without the enum's shared prefix: "ALL" for NOTIFICATION_LEVEL_ALL.
    const names = holder.enum.values.filter((v) => v.number !== 0).map((v) => v.localName.toLowerCase());
    return `${holder.name}: unknown value ${badEnum[2]} (one of ${names.join(", ")})`;
  }
  return message.replace(/^cannot decode (message|enum) [\w.]+ from JSON: /, "invalid value: ");
}

/** The body's top-level entries that name a field of `schema` (by JSON or proto name). */
function knownFieldsOnly(schema: DescMessage, body: Record<string, JsonValue>): JsonValue {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(body)) {
    if (schema.fields.some((f) => f.jsonName === key || f.name === key)) out[key] = value;
  }
  return out;
}

export function decode<D extends DescMessage>(schema: D, json: unknown): MessageShape<D> {
  if (json === undefined || json === null) json = {};
  if (typeof json !== "object" || Array.isArray(json)) {
    throw appError(Code.InvalidArgument, "INVALID_ARGUMENT", "the request body must be a JSON object");
  }
  let message: MessageShape<D>;
  try {
    // Unknown keys are ignored by dropping them here, not by fromJson's option,
    // which would also silently drop an unknown enum value ("loud") instead of refusing it.
    message = fromJson(schema, knownFieldsOnly(schema, json as Record<string, JsonValue>));
  } catch (err) {
    throw appError(Code.InvalidArgument, "INVALID_ARGUMENT", describeDecodeError(schema, err));
  }
  const invalid = validationError(schema, message);
  if (invalid) throw invalid;
  return message;
}

export function render<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonValue {
  // Every field, defaults included: REST clients should not need the schema to know a field exists.
  return toJson(schema, message, { alwaysEmitImplicit: true });
}

/** Call options that carry the caller's credentials (the service checks them) and address. */
export function callOptions(req: FastifyRequest): CallOptions {
  return clientCall({ authorization: req.headers.authorization, ip: req.ip, userAgent: req.headers["user-agent"] });
}

/** Lets clients use short enum names ("public") as well as proto names ("ROOM_VISIBILITY_PUBLIC"). */
export function enumAlias(value: unknown, prefix: string): unknown {
  return typeof value === "string" && /^[a-z_]+$/.test(value) ? `${prefix}${value.toUpperCase()}` : value;
}

/** Applies `edit` to a copy of a JSON object body; anything else is left for decode() to reject. */
export function editObject(body: unknown, edit: (obj: Record<string, unknown>) => void): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const copy = { ...(body as Record<string, unknown>) };
  edit(copy);
  return copy;
}

/** The entries of `fields` that are set (query parameters the client gave). */
export function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * A JSON object body with the route's path parameters laid over it (the path
 * wins); an absent body is just the parameters, and anything that is not an
 * object is left for decode() to reject.
 */
export function withParams(body: unknown, params: Record<string, unknown>): unknown {
  if (body === undefined || body === null) return { ...params };
  if (typeof body !== "object" || Array.isArray(body)) return body;
  return { ...(body as Record<string, unknown>), ...params };
}
