import assert from "node:assert/strict";
import { test } from "node:test";
import {
  create,
  createFileRegistry,
  type DescField,
  type DescMessage,
  type Message,
  ScalarType,
  toJsonString,
} from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_struct,
  file_google_protobuf_wrappers,
  timestampFromMs,
} from "@bufbuild/protobuf/wkt";
import { MessageSchema, RoomEventSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { ServerFrameSchema } from "@parley/proto/realtime/v1/realtime_pb.js";
import { jsonWriter } from "./realtime/compiled-json.js";

/** mulberry32: the same messages on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(20261124);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

// What JSON escapes, what it does not, and what UTF-16 makes awkward.
const STRINGS = ["", "a", 'say "hi"', "back\\slash", "line\nbreak\ttab\u0000\u001f", "émoji 👍🏽", "</script>", "0"];
const INT64S = [0n, 1n, -1n, 9_007_199_254_740_993n, -9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n];
const UINT64S = [0n, 1n, 18_446_744_073_709_551_615n];
const DOUBLES = [0, -0, 1.5, -2.25e-300, 1e21, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
const INT32S = [0, 1, -1, 2_147_483_647, -2_147_483_648];
const NANOS = [0, 1, 5_000_000, 123_000, 999_999_999, 120_000_000];

function scalarValue(scalar: ScalarType): unknown {
  switch (scalar) {
    case ScalarType.STRING:
      return pick(STRINGS);
    case ScalarType.BOOL:
      return random() < 0.5;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return pick(INT64S);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return pick(UINT64S);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return pick(DOUBLES);
    case ScalarType.BYTES:
      return new Uint8Array(Array.from({ length: Math.floor(random() * 5) }, () => Math.floor(random() * 256)));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return pick([0, 1, 4_294_967_295]);
    default:
      return pick(INT32S);
  }
}

function enumValue(f: DescField): number {
  // Now and then a number the enum does not name: written as the number.
  return random() < 0.1 ? 99 : pick(f.enum?.values ?? []).number;
}

/** A random message of this type: every field set or not, lists of 0 to 3, oneofs on any case or none. */
function randomMessage(desc: DescMessage, depth: number): ReflectMessage {
  const r = reflect(desc);
  if (desc.typeName === "google.protobuf.Timestamp") {
    const t = timestampFromMs(Math.floor((random() - 0.5) * 2 * 4e12));
    t.nanos = pick(NANOS);
    return reflect(desc, t);
  }
  for (const oneof of desc.oneofs) {
    const chosen = random() < 0.8 ? pick(oneof.fields) : undefined;
    if (chosen) setRandom(r, chosen, depth);
  }
  for (const f of desc.fields) {
    if (f.oneof || random() < 0.25) continue;
    setRandom(r, f, depth);
  }
  return r;
}

function setRandom(r: ReflectMessage, f: DescField, depth: number): void {
  switch (f.fieldKind) {
    case "scalar":
      r.set(f, scalarValue(f.scalar));
      return;
    case "enum":
      r.set(f, enumValue(f));
      return;
    case "message":
      if (depth < 4) r.set(f, randomMessage(f.message, depth + 1));
      return;
    case "list": {
      const list = r.get(f);
      const n = depth < 4 ? Math.floor(random() * 4) : 0;
      for (let i = 0; i < n; i++) {
        if (f.listKind === "message") list.add(randomMessage(f.message, depth + 1));
        else if (f.listKind === "enum") list.add(enumValue(f));
        else list.add(scalarValue(f.scalar));
      }
      return;
    }
    case "map": {
      const map = r.get(f);
      for (let i = 0; i < Math.floor(random() * 3); i++) map.set(pick(["b", "a", "10", "2", 'q"uote']), "v");
      return;
    }
  }
}

/** Every message type a ServerFrame can hold, itself included. */
function reachable(root: DescMessage): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (d: DescMessage) => {
    if (seen.has(d.typeName)) return;
    seen.set(d.typeName, d);
    for (const f of d.fields) if (f.message) visit(f.message);
  };
  visit(root);
  return [...seen.values()];
}

test("writes the JSON toJsonString writes, for random messages of every type a server frame can hold", () => {
  const types = reachable(ServerFrameSchema);
  assert.ok(types.length > 20, `only ${types.length} message types reached`);
  let compared = 0;
  for (const desc of types) {
    for (let i = 0; i < 300; i++) {
      const message = randomMessage(desc, 0).message;
      assert.equal(jsonWriter(desc)(message), toJsonString(desc, message), `${desc.typeName} #${i}`);
      compared++;
    }
  }
  assert.equal(compared, types.length * 300);
});

test("writes a stored message's timestamps with as many fractional digits as they need", () => {
  const at = (ms: number, nanos: number) => ({ ...timestampFromMs(ms), nanos });
  const message = create(MessageSchema, {
    id: "m1",
    text: "hi",
    seq: 42n,
    createdAt: at(1_700_000_000_000, 0),
    editedAt: at(1_700_000_000_000, 123_456_000),
  });
  const json = jsonWriter(MessageSchema)(message);
  assert.equal(json, toJsonString(MessageSchema, message));
  assert.match(json, /"createdAt":"2023-11-14T22:13:20Z"/);
  assert.match(json, /"editedAt":"2023-11-14T22:13:20\.123456Z"/);
  assert.match(json, /"seq":"42"/);
});

test("refuses a timestamp JSON cannot carry, as toJsonString does", () => {
  const event = create(RoomEventSchema, { roomId: "r", occurredAt: { seconds: 400_000_000_000n, nanos: 0 } });
  assert.throws(() => toJsonString(RoomEventSchema, event));
  assert.throws(() => jsonWriter(RoomEventSchema)(event), /out of range/);
});

test("hands a message holding wrapper or Struct fields (held unboxed) to toJson", () => {
  const field = (name: string, number: number, typeName: string) => ({
    name,
    number,
    jsonName: name,
    type: FieldDescriptorProto_Type.MESSAGE,
    label: FieldDescriptorProto_Label.OPTIONAL,
    typeName,
  });
  const file = create(FileDescriptorProtoSchema, {
    name: "unboxed.proto",
    package: "unboxed",
    syntax: "proto3",
    dependency: ["google/protobuf/wrappers.proto", "google/protobuf/struct.proto"],
    messageType: [
      { name: "M", field: [field("w", 1, ".google.protobuf.StringValue"), field("s", 2, ".google.protobuf.Struct")] },
    ],
  });
  const registry = createFileRegistry(file, (name) =>
    name === "google/protobuf/wrappers.proto" ? file_google_protobuf_wrappers : file_google_protobuf_struct,
  );
  const desc: DescMessage | undefined = registry.getMessage("unboxed.M");
  assert.ok(desc);
  for (const init of [{ w: "hi" }, { s: { a: 1, b: [true, null] } }, {}]) {
    const message: Message = create(desc, init);
    assert.equal(jsonWriter(desc)(message), toJsonString(desc, message));
  }
});
