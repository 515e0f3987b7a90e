/**
 * JSON Schema (2020-12, as OpenAPI 3.1 uses it) for protobuf messages in
 * their protobuf JSON form, walked from the descriptors.
 *
 * - "output" is what the edge's render() sends: toJson with
 *   alwaysEmitImplicit, so every implicit-presence field, list and map is
 *   always there (required), message and `optional` fields only when set,
 *   at most one member of a oneof; 64-bit integers are decimal strings, enums
 *   their value names, Timestamps RFC 3339 strings. No other key appears.
 * - "input" is what decode() takes (fromJson), narrowed by the field's
 *   protovalidate rules where JSON Schema can say them: lengths, patterns,
 *   email and uuid formats, bounds, item counts, enum values, and `required`
 *   where the rules refuse the field's zero value (an absent field is its
 *   zero value in proto3). CEL rules are not translated; their message
 *   joins the field's description.
 */
import type { DescEnum, DescField, DescMessage, DescOneof } from "@bufbuild/protobuf";
import { getOption, hasOption, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import {
  type FieldRules,
  field as fieldRules,
  Ignore,
  oneof as oneofRules,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { comments } from "./comments.js";

export type JsonSchema = { [key: string]: unknown };
export type Mode = "input" | "output";

export interface SchemaSink {
  /** A `$ref` to the component for `message` in `mode`, creating it on first use. */
  ref(message: DescMessage, mode: Mode): JsonSchema;
}

const INT64_PATTERN = "^-?[0-9]+$";
const UINT64_PATTERN = "^[0-9]+$";

/** Well-known types with a JSON form of their own, or undefined. */
function wellKnown(message: DescMessage): JsonSchema | undefined {
  switch (message.typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time" };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" };
    case "google.protobuf.FieldMask":
      return { type: "string" };
    case "google.protobuf.Empty":
      return { type: "object", additionalProperties: false };
    case "google.protobuf.Struct":
      return { type: "object" };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array" };
    case "google.protobuf.Any":
      return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] };
  }
  if (message.typeName.startsWith("google.protobuf.") && message.typeName.endsWith("Value")) {
    const value = message.fields[0];
    if (value?.fieldKind === "scalar") return scalarSchema(value.scalar, "output");
  }
  return undefined;
}

function scalarSchema(scalar: ScalarType, mode: Mode): JsonSchema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { anyOf: [{ type: "number" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }] };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      // Sent as strings (beyond 2^53 a JSON number loses digits); read from either.
      return mode === "output"
        ? { type: "string", format: "int64", pattern: INT64_PATTERN }
        : { type: ["string", "integer"], format: "int64", pattern: INT64_PATTERN };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return mode === "output"
        ? { type: "string", format: "uint64", pattern: UINT64_PATTERN }
        : { type: ["string", "integer"], format: "uint64", pattern: UINT64_PATTERN, minimum: 0 };
  }
}

/** The value names an enum field may take; with `shortNames`, also "public" for ROOM_VISIBILITY_PUBLIC. */
function enumSchema(desc: DescEnum, mode: Mode, rules: FieldRules | undefined, shortNames: boolean): JsonSchema {
  let values = desc.values;
  if (mode === "input" && rules?.type.case === "enum") {
    const r = rules.type.value;
    if (r.in.length > 0) values = values.filter((v) => r.in.includes(v.number));
    if (r.notIn.length > 0) values = values.filter((v) => !r.notIn.includes(v.number));
  }
  const names = values.map((v) => v.name);
  if (mode === "input" && shortNames) names.push(...values.map((v) => v.localName.toLowerCase()));
  const schema: JsonSchema = { type: "string", enum: names };
  const described = values.flatMap((v) => {
    const said = comments(v);
    return said ? [`- \`${v.name}\`: ${said.replaceAll("\n", " ")}`] : [];
  });
  const description = [comments(desc), described.join("\n")].filter(Boolean).join("\n\n");
  if (description) schema.description = description;
  return schema;
}

/** The field's own rules, narrowed to what JSON Schema can say, laid over `schema`. */
function withRules(schema: JsonSchema, rules: FieldRules | undefined): JsonSchema {
  if (rules === undefined) return schema;
  const out = { ...schema };
  const t = rules.type;
  switch (t.case) {
    case "string": {
      const r = t.value;
      if (r.len > 0n) out.minLength = out.maxLength = Number(r.len);
      if (r.minLen > 0n) out.minLength = Number(r.minLen);
      if (r.maxLen > 0n) out.maxLength = Number(r.maxLen);
      if (r.pattern !== "") out.pattern = r.pattern;
      if (r.wellKnown.case === "email") out.format = "email";
      if (r.wellKnown.case === "uuid") out.format = "uuid";
      if (r.wellKnown.case === "uri") out.format = "uri";
      if (r.in.length > 0) out.enum = [...r.in];
      break;
    }
    case "int32":
    case "uint32":
    case "sint32":
    case "fixed32":
    case "sfixed32":
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
    case "sfixed64": {
      const { lessThan, greaterThan } = t.value;
      if (lessThan.case === "lte") out.maximum = Number(lessThan.value);
      if (lessThan.case === "lt") out.exclusiveMaximum = Number(lessThan.value);
      if (greaterThan.case === "gte") out.minimum = Number(greaterThan.value);
      if (greaterThan.case === "gt") out.exclusiveMinimum = Number(greaterThan.value);
      // A bound on a 64-bit integer also holds for its decimal-string form: no minus sign.
      const nonNegative =
        (greaterThan.case === "gte" && greaterThan.value >= 0) ||
        (greaterThan.case === "gt" && greaterThan.value >= -1);
      if (out.pattern === INT64_PATTERN && nonNegative) out.pattern = UINT64_PATTERN;
      break;
    }
  }
  return out;
}

/** Whether the rules refuse the field's zero value, which is what an absent implicit-presence field has. */
function refusesZero(field: DescField, rules: FieldRules | undefined): boolean {
  if (rules === undefined || rules.ignore === Ignore.IF_ZERO_VALUE || rules.ignore === Ignore.ALWAYS) return false;
  if (rules.required) return true;
  const t = rules.type;
  if (field.fieldKind === "list") return t.case === "repeated" && t.value.minItems > 0n;
  if (t.case === "string") {
    const r = t.value;
    if (r.minLen > 0n || r.len > 0n || r.wellKnown.case !== undefined) return true;
    if (r.in.length > 0 && !r.in.includes("")) return true;
    return r.pattern !== "" && !new RegExp(r.pattern).test("");
  }
  if (t.case === "enum") {
    const r = t.value;
    return (r.in.length > 0 && !r.in.includes(0)) || r.notIn.includes(0);
  }
  return false;
}

function rulesOf(field: DescField): FieldRules | undefined {
  return hasOption(field, fieldRules) ? getOption(field, fieldRules) : undefined;
}

function describe(schema: JsonSchema, field: DescField, rules: FieldRules | undefined, mode: Mode): JsonSchema {
  // The field's own comment first, then its type's (an enum's, with its values).
  const own = typeof schema.description === "string" ? schema.description : undefined;
  const lines = [comments(field), own];
  if (mode === "input") for (const rule of rules?.cel ?? []) if (rule.message) lines.push(`Must be: ${rule.message}.`);
  const description = lines.filter((l) => l !== undefined && l !== "").join("\n\n");
  return description ? { ...schema, description } : schema;
}

/** A singular value of `field`'s type (the item of a list, the value of a map). */
function valueSchema(
  field: DescField,
  mode: Mode,
  sink: SchemaSink,
  rules: FieldRules | undefined,
  shortEnums: boolean,
): JsonSchema {
  if (field.message) return wellKnown(field.message) ?? sink.ref(field.message, mode);
  if (field.enum) return enumSchema(field.enum, mode, rules, shortEnums);
  const scalar = scalarSchema(field.scalar, mode);
  return mode === "input" ? withRules(scalar, rules) : scalar;
}

export function fieldSchema(field: DescField, mode: Mode, sink: SchemaSink, shortEnums = false): JsonSchema {
  const rules = mode === "input" ? rulesOf(field) : undefined;
  let schema: JsonSchema;
  if (field.fieldKind === "list") {
    const itemRules = rules?.type.case === "repeated" ? rules.type.value.items : undefined;
    schema = { type: "array", items: valueSchema(field, mode, sink, itemRules, false) };
    if (rules?.type.case === "repeated") {
      const r = rules.type.value;
      if (r.minItems > 0n) schema.minItems = Number(r.minItems);
      if (r.maxItems > 0n) schema.maxItems = Number(r.maxItems);
      if (r.unique) schema.uniqueItems = true;
    }
  } else if (field.fieldKind === "map") {
    schema = { type: "object", additionalProperties: valueSchema(field, mode, sink, undefined, false) };
  } else {
    schema = valueSchema(field, mode, sink, rules, shortEnums);
    if (mode === "input" && rules?.ignore === Ignore.IF_ZERO_VALUE && field.fieldKind === "scalar") {
      // Zero means "not given" and passes; anything else must keep the rules.
      schema = { anyOf: [{ const: field.scalar === ScalarType.STRING ? "" : 0 }, schema] };
    }
  }
  return describe(schema, field, rules, mode);
}

/** Whether toJson with alwaysEmitImplicit always writes the field. */
function alwaysEmitted(field: DescField): boolean {
  if (field.fieldKind === "list" || field.fieldKind === "map") return true;
  return field.oneof === undefined && field.presence === FeatureSet_FieldPresence.IMPLICIT;
}

/** Whether decode() refuses a request without the field. */
export function requiredInput(field: DescField): boolean {
  if (field.presence === FeatureSet_FieldPresence.EXPLICIT && field.fieldKind !== "list") {
    return rulesOf(field)?.required === true;
  }
  return refusesZero(field, rulesOf(field));
}

/** JSON Schema for "at most one of" (output) or "exactly one of" (a required oneof's input) `members`. */
function oneofConstraint(members: string[], exactlyOne: boolean): JsonSchema {
  const branches: JsonSchema[] = members.map((m) => ({ required: [m] }));
  if (!exactlyOne) branches.push({ not: { anyOf: members.map((m) => ({ required: [m] })) } });
  return { oneOf: branches };
}

function oneofRequired(oneof: DescOneof): boolean {
  return hasOption(oneof, oneofRules) && getOption(oneof, oneofRules).required;
}

export interface ObjectOptions {
  /** Fields left out (filled from the path or query, or not sent). */
  omit?: ReadonlySet<string>;
  /** Accept short enum names ("public") on the message's own enum fields. */
  shortEnums?: boolean;
}

/** The object schema of `message`'s JSON form in `mode`. */
export function messageSchema(
  message: DescMessage,
  mode: Mode,
  sink: SchemaSink,
  opts: ObjectOptions = {},
): JsonSchema {
  const known = wellKnown(message);
  if (known) return known;
  const omit = opts.omit ?? new Set<string>();
  const fields = message.fields.filter((f) => !omit.has(f.jsonName));
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const field of fields) {
    properties[field.jsonName] = fieldSchema(field, mode, sink, opts.shortEnums === true);
    if (mode === "output" ? alwaysEmitted(field) : requiredInput(field)) required.push(field.jsonName);
  }
  const schema: JsonSchema = { type: "object", properties };
  if (required.length > 0) schema.required = required;
  // Output is exactly what render() writes; input may carry other keys, which decode() drops.
  if (mode === "output") schema.additionalProperties = false;
  const constraints: JsonSchema[] = [];
  for (const oneof of message.oneofs) {
    const members = oneof.fields.filter((f) => !omit.has(f.jsonName)).map((f) => f.jsonName);
    if (members.length === 0) continue;
    const exactlyOne = mode === "input" && oneofRequired(oneof);
    if (mode === "output" || exactlyOne) constraints.push(oneofConstraint(members, exactlyOne));
  }
  if (constraints.length === 1) Object.assign(schema, constraints[0]);
  if (constraints.length > 1) schema.allOf = constraints;
  const description = comments(message);
  if (description) schema.description = description;
  return schema;
}
