/**
 * protobuf JSON text of a message, as `toJsonString` writes it with default
 * options, from a writer built once per message type. `toJsonString` walks
 * the schema by reflection for every message, builds a JSON object tree and
 * then stringifies it; on the edge that was an eighth of the CPU under load
 * (every ack and every event frame is one). A compiled writer reads the
 * fields directly and concatenates the text.
 *
 * A message it does not handle itself it hands, whole, to `toJson`: one with
 * a map field (whose key order `toJson` decides), a required field (whose
 * absence `toJson` refuses), or a field of a well-known type other than
 * Timestamp (wrappers and Struct are held unboxed, as plain values). So the
 * output is always `toJsonString`'s; the tests compare the two over every
 * message type reachable from the frames.
 */
import { type DescField, type DescMessage, ScalarType, toJson } from "@bufbuild/protobuf";
import { isScalarZeroValue } from "@bufbuild/protobuf/reflect";
import { base64Encode } from "@bufbuild/protobuf/wire";

/** A message's JSON text. */
export type JsonWriter = (message: object) => string;

/** A field's `"name":value`, or undefined when the field is not written. */
type FieldWriter = (message: Record<string, unknown>) => string | undefined;

/** A value's JSON text. */
type ValueWriter = (value: unknown) => string;

// google.protobuf.FeatureSet.FieldPresence.IMPLICIT
const IMPLICIT = 2;

const writers = new WeakMap<DescMessage, JsonWriter>();

export function jsonWriter(desc: DescMessage): JsonWriter {
  let writer = writers.get(desc);
  if (!writer) {
    writer = compile(desc);
    writers.set(desc, writer);
  }
  return writer;
}

function compile(desc: DescMessage): JsonWriter {
  if (desc.typeName === "google.protobuf.Timestamp") return timestampJson as JsonWriter;
  const generic = desc.typeName.startsWith("google.protobuf.") || desc.fields.some(needsToJson);
  if (generic) return (m) => JSON.stringify(toJson(desc, m as never));
  const fields = desc.fields
    .concat()
    .sort((a, b) => a.number - b.number)
    .map(fieldWriter);
  return (message) => {
    const m = message as Record<string, unknown>;
    let out = "";
    for (const write of fields) {
      const part = write(m);
      if (part !== undefined) out = out === "" ? part : `${out},${part}`;
    }
    return `{${out}}`;
  };
}

// google.protobuf.FeatureSet.FieldPresence.LEGACY_REQUIRED
const LEGACY_REQUIRED = 3;

function needsToJson(f: DescField): boolean {
  if (f.fieldKind === "map" || f.presence === LEGACY_REQUIRED) return true;
  const type = f.message?.typeName ?? "";
  return type.startsWith("google.protobuf.") && type !== "google.protobuf.Timestamp";
}

function fieldWriter(f: DescField): FieldWriter {
  const key = `${JSON.stringify(f.jsonName)}:`;
  const name = f.localName;
  if (f.fieldKind === "list") {
    const item = valueWriter(f, f.listKind);
    return (m) => {
      const list = m[name] as unknown[];
      if (list.length === 0) return undefined;
      let out = "";
      for (let i = 0; i < list.length; i++) out += (i === 0 ? "" : ",") + item(list[i]);
      return `${key}[${out}]`;
    };
  }
  if (f.fieldKind === "map") throw new Error(`map field ${f.name} reached the compiled writer`);
  const value = valueWriter(f, f.fieldKind);
  if (f.oneof) {
    const group = f.oneof.localName;
    return (m) => {
      const selected = m[group] as { case: string | undefined; value?: unknown };
      return selected.case === name ? key + value(selected.value) : undefined;
    };
  }
  if (f.presence !== IMPLICIT) {
    return (m) => (m[name] !== undefined && Object.hasOwn(m, name) ? key + value(m[name]) : undefined);
  }
  if (f.fieldKind === "scalar") {
    const scalar = f.scalar;
    return (m) => (isScalarZeroValue(scalar, m[name]) ? undefined : key + value(m[name]));
  }
  if (f.fieldKind === "enum") {
    const zero = f.enum.values[0]?.number;
    return (m) => (m[name] === zero ? undefined : key + value(m[name]));
  }
  throw new Error(`message field ${f.name} with implicit presence`);
}

function valueWriter(f: DescField, kind: "scalar" | "enum" | "message"): ValueWriter {
  switch (kind) {
    case "message": {
      // Looked up on first use: the field's type may be the one being compiled.
      const message = f.message as DescMessage;
      let write: JsonWriter | undefined;
      return (v) => {
        write ??= jsonWriter(message);
        return write(v as object);
      };
    }
    case "enum": {
      const e = f.enum;
      if (!e) throw new Error(`enum field ${f.name} without its enum`);
      if (e.typeName === "google.protobuf.NullValue") return () => "null";
      return (v) => {
        const known = e.value[v as number];
        return known ? `"${known.name}"` : JSON.stringify(v);
      };
    }
    case "scalar":
      return scalarWriter(f.scalar as ScalarType);
  }
}

function scalarWriter(scalar: ScalarType): ValueWriter {
  switch (scalar) {
    case ScalarType.STRING:
      return (v) => JSON.stringify(v);
    case ScalarType.BOOL:
      return (v) => (v ? "true" : "false");
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return (v) => (typeof v === "bigint" ? `"${v}"` : JSON.stringify(String(v)));
    case ScalarType.BYTES:
      return (v) => `"${base64Encode(v as Uint8Array)}"`;
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return (v) => {
        const n = v as number;
        if (Number.isNaN(n)) return '"NaN"';
        if (n === Number.POSITIVE_INFINITY) return '"Infinity"';
        if (n === Number.NEGATIVE_INFINITY) return '"-Infinity"';
        return JSON.stringify(n);
      };
    default:
      return (v) => JSON.stringify(v);
  }
}

const MIN_MS = Date.parse("0001-01-01T00:00:00Z");
const MAX_MS = Date.parse("9999-12-31T23:59:59Z");

// toISOString costs half a microsecond, and the timestamps written one
// after the other are mostly the same second (a send batch shares one).
let lastMs = Number.NaN;
let lastWhole = "";

/** "YYYY-MM-DDTHH:MM:SS" of a whole second. */
function wholeSeconds(ms: number): string {
  if (ms !== lastMs) {
    // Whole seconds: toISOString ends in ".000Z".
    lastWhole = new Date(ms).toISOString().slice(0, -5);
    lastMs = ms;
  }
  return lastWhole;
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, checked as `toJson` checks it. */
function timestampJson(t: { seconds: bigint; nanos: number }): string {
  const ms = Number(t.seconds) * 1000;
  if (ms < MIN_MS || ms > MAX_MS || t.nanos < 0 || t.nanos > 999_999_999) {
    throw new Error(`cannot encode google.protobuf.Timestamp to JSON: ${t.seconds}s ${t.nanos}ns is out of range`);
  }
  const whole = wholeSeconds(ms);
  if (t.nanos === 0) return `"${whole}Z"`;
  const digits = String(t.nanos + 1_000_000_000).slice(1);
  if (digits.endsWith("000000")) return `"${whole}.${digits.slice(0, 3)}Z"`;
  if (digits.endsWith("000")) return `"${whole}.${digits.slice(0, 6)}Z"`;
  return `"${whole}.${digits}Z"`;
}
