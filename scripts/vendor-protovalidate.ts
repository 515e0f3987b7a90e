/**
 * Vendors `buf/validate/validate.proto` into `proto/buf/validate/validate.proto`.
 *
 * Why: our protos use protovalidate rules (`import "buf/validate/validate.proto"`),
 * but `buf` here cannot reach the Buf Schema Registry (so no `deps:
 * [buf.build/bufbuild/protovalidate]`), and no npm package ships the .proto
 * source. The npm package `@bufbuild/protovalidate` does ship the compiled
 * FileDescriptorProto of the exact schema it validates against (embedded in
 * `dist/esm/gen/buf/validate/validate_pb.js`). This script decodes that
 * descriptor and prints it back as .proto source, so the vendored schema is
 * mechanically identical (wire-compatible) to the runtime's — never hand-typed.
 *
 * Usage:  node --import tsx scripts/vendor-protovalidate.ts [--no-check] [--stdout]
 *
 * After writing, the script compiles the result with the repo's `buf` and
 * checks that the produced FileDescriptorProto equals the embedded one, modulo
 * what is intentionally dropped: comments (not in the embedded descriptor) and
 * custom options such as `(buf.validate.predefined).cel` (protovalidate
 * evaluates the standard rules from its own embedded descriptor; only names,
 * numbers, types, labels, oneofs, ranges and built-in options matter to us).
 *
 * Re-run it whenever @bufbuild/protovalidate is upgraded.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import {
  clearField,
  clone,
  type DescMessage,
  equals,
  fromBinary,
  isFieldSet,
  type Message,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { protoCamelCase, reflect } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProto,
  Edition,
  type EnumDescriptorProto,
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  ExtensionRangeOptionsSchema,
  type FieldDescriptorProto,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  FileOptionsSchema,
  FieldDescriptorProto_Label as Label,
  MessageOptionsSchema,
  OneofOptionsSchema,
  FieldDescriptorProto_Type as Type,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const outPath = join(repoRoot, "proto", file_buf_validate_validate.proto.name);

// ---------------------------------------------------------------------------
// Rendering FileDescriptorProto -> .proto source
// ---------------------------------------------------------------------------

type Syntax = "proto2" | "proto3" | "editions";

/**
 * Custom (extension) options found as unknown fields and therefore dropped:
 * "<options type name>#<extension number>" -> number of elements carrying it.
 */
const dropped = new Map<string, number>();

const scalarKeyword: Partial<Record<Type, string>> = {
  [Type.DOUBLE]: "double",
  [Type.FLOAT]: "float",
  [Type.INT64]: "int64",
  [Type.UINT64]: "uint64",
  [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64",
  [Type.FIXED32]: "fixed32",
  [Type.BOOL]: "bool",
  [Type.STRING]: "string",
  [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32",
  [Type.SFIXED32]: "sfixed32",
  [Type.SFIXED64]: "sfixed64",
  [Type.SINT32]: "sint32",
  [Type.SINT64]: "sint64",
};

function fail(msg: string): never {
  throw new Error(`vendor-protovalidate: ${msg}`);
}

/** Quote a string as a .proto string literal (UTF-8 bytes, C escapes). */
function quote(s: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(s)) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString(8).padStart(3, "0")}`;
  }
  return `${out}"`;
}

/**
 * Flatten the set, built-in fields of an options message into
 * `name = literal` pairs (sub-messages such as `features` become
 * `features.field_presence = ...`). Unknown fields — i.e. custom options
 * like `(buf.validate.predefined)` — are recorded in `dropped` and skipped.
 */
function optionPairs(schema: DescMessage, msg: Message | undefined, where: string, prefix = ""): string[] {
  if (msg === undefined) return [];
  for (const no of new Set((msg.$unknown ?? []).map((u) => u.no))) {
    const key = `${schema.typeName}#${no}`;
    dropped.set(key, (dropped.get(key) ?? 0) + 1);
  }
  const r = reflect(schema, msg);
  const pairs: string[] = [];
  for (const f of schema.fields) {
    if (!r.isSet(f)) continue;
    if (f.name === "uninterpreted_option") fail(`uninterpreted options in ${where}`);
    const name = prefix + f.name;
    const lit = (v: unknown): string => {
      if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) {
        const e = f.enum;
        const n = e?.values.find((x) => x.number === v)?.name;
        return n ?? fail(`unknown enum value ${String(v)} for option ${name} in ${where}`);
      }
      if (typeof v === "string") return quote(v);
      if (typeof v === "boolean" || typeof v === "number" || typeof v === "bigint") return String(v);
      return fail(`unsupported option value for ${name} in ${where}`);
    };
    switch (f.fieldKind) {
      case "scalar":
      case "enum":
        pairs.push(`${name} = ${lit(r.get(f))}`);
        break;
      case "list":
        if (f.listKind === "message") fail(`repeated message option ${name} in ${where} is not supported`);
        for (const v of r.get(f)) pairs.push(`${name} = ${lit(v)}`);
        break;
      case "message":
        pairs.push(...optionPairs(f.message, r.get(f).message, where, `${name}.`));
        break;
      default:
        fail(`unsupported option kind for ${name} in ${where}`);
    }
  }
  return pairs;
}

function bracket(pairs: string[]): string {
  return pairs.length ? ` [${pairs.join(", ")}]` : "";
}

/** `oneof_index` is a proto2 optional field: unset must not read as 0. */
function oneofIndexOf(f: FieldDescriptorProto): number | undefined {
  return isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) ? f.oneofIndex : undefined;
}

class Renderer {
  private readonly lines: string[] = [];
  private readonly syntax: Syntax;
  private readonly pkg: string;

  constructor(private readonly file: FileDescriptorProto) {
    if (file.syntax === "" || file.syntax === "proto2") this.syntax = "proto2";
    else if (file.syntax === "proto3") this.syntax = "proto3";
    else if (file.syntax === "editions") this.syntax = "editions";
    else fail(`unknown syntax ${file.syntax}`);
    this.pkg = file.package;
  }

  private emit(indent: number, s: string): void {
    this.lines.push(s === "" ? "" : "  ".repeat(indent) + s);
  }

  render(header: string): string {
    const f = this.file;
    this.lines.push(...header.split("\n"));
    if (this.syntax === "editions") {
      const ed = Edition[f.edition].replace(/^EDITION_/, "");
      if (!/^\d+$/.test(ed)) fail(`unsupported edition ${Edition[f.edition]}`);
      this.emit(0, `edition = "${ed}";`);
    } else {
      this.emit(0, `syntax = "${this.syntax}";`);
    }
    this.emit(0, "");
    if (this.pkg) {
      this.emit(0, `package ${this.pkg};`);
      this.emit(0, "");
    }
    if (f.dependency.length) {
      f.dependency.forEach((d, i) => {
        const kind = f.publicDependency.includes(i) ? "public " : f.weakDependency.includes(i) ? "weak " : "";
        this.emit(0, `import ${kind}${quote(d)};`);
      });
      this.emit(0, "");
    }
    const fileOpts = optionPairs(FileOptionsSchema, f.options, "file options");
    for (const p of fileOpts) this.emit(0, `option ${p};`);
    if (fileOpts.length) this.emit(0, "");
    if (f.service.length) fail("services are not supported");

    const scope: DescriptorProto[] = [];
    for (const m of f.messageType) {
      this.message(m, 0, scope);
      this.emit(0, "");
    }
    for (const e of f.enumType) {
      this.enumType(e, 0);
      this.emit(0, "");
    }
    this.extensions(f.extension, 0, scope);
    while (this.lines.at(-1) === "") this.lines.pop();
    return `${this.lines.join("\n")}\n`;
  }

  /**
   * Name of a referenced type as written in source. Types of our own package
   * are written relative to it unless a nested type in an enclosing message
   * would shadow the first name component; the `--check` step verifies the
   * resolution by recompiling.
   */
  private typeRef(typeName: string, scope: DescriptorProto[]): string {
    if (!typeName.startsWith(".")) fail(`type name ${typeName} is not fully qualified`);
    let name = typeName.slice(1);
    const own = this.pkg ? `${this.pkg}.` : "";
    if (own && name.startsWith(own)) name = name.slice(own.length);
    const first = name.split(".")[0];
    const shadowed = scope.some(
      (m) => m.nestedType.some((n) => n.name === first) || m.enumType.some((n) => n.name === first),
    );
    return shadowed ? typeName : name;
  }

  private mapEntry(field: FieldDescriptorProto, scope: DescriptorProto[]): DescriptorProto | undefined {
    if (field.type !== Type.MESSAGE || field.label !== Label.REPEATED) return undefined;
    const parent = scope.at(-1);
    const short = field.typeName.split(".").at(-1);
    const nested = parent?.nestedType.find((n) => n.name === short && n.options?.mapEntry === true);
    return nested;
  }

  private fieldType(field: FieldDescriptorProto, scope: DescriptorProto[]): string {
    switch (field.type) {
      case Type.MESSAGE:
      case Type.ENUM:
        return this.typeRef(field.typeName, scope);
      case Type.GROUP:
        if (this.syntax === "editions") return this.typeRef(field.typeName, scope);
        return fail(`proto2 group field ${field.name} is not supported`);
      default:
        return scalarKeyword[field.type] ?? fail(`unknown field type ${field.type}`);
    }
  }

  private fieldLine(field: FieldDescriptorProto, scope: DescriptorProto[], inOneof: boolean, where: string): string {
    const entry = this.mapEntry(field, scope);
    let decl: string;
    if (entry) {
      const [k, v] = [entry.field.find((x) => x.number === 1), entry.field.find((x) => x.number === 2)];
      if (!k || !v) fail(`malformed map entry ${entry.name}`);
      decl = `map<${this.fieldType(k, scope)}, ${this.fieldType(v, scope)}>`;
    } else {
      let label = "";
      if (field.label === Label.REPEATED) label = "repeated ";
      else if (inOneof) label = "";
      else if (this.syntax === "proto2") label = field.label === Label.REQUIRED ? "required " : "optional ";
      else if (this.syntax === "proto3") label = field.proto3Optional ? "optional " : "";
      decl = `${label}${this.fieldType(field, scope)}`;
    }
    const opts: string[] = [];
    if (isFieldSet(field, FieldDescriptorProtoSchema.field.defaultValue)) {
      const dv = field.defaultValue;
      if (field.type === Type.STRING) opts.push(`default = ${quote(dv)}`);
      else if (field.type === Type.BYTES)
        opts.push(`default = "${dv}"`); // already C-escaped
      else opts.push(`default = ${dv}`);
    }
    if (isFieldSet(field, FieldDescriptorProtoSchema.field.jsonName) && field.jsonName !== protoCamelCase(field.name)) {
      opts.push(`json_name = ${quote(field.jsonName)}`);
    }
    opts.push(...optionPairs(FieldOptionsSchema, field.options, `${where}.${field.name}`));
    return `${decl} ${field.name} = ${field.number}${bracket(opts)};`;
  }

  private message(m: DescriptorProto, indent: number, outer: DescriptorProto[]): void {
    const scope = [...outer, m];
    const where = [...outer, m].map((x) => x.name).join(".");
    this.emit(indent, `message ${m.name} {`);
    const i = indent + 1;
    const mo = m.options;
    if (mo?.mapEntry) fail(`unexpected map entry ${where}`);
    for (const p of optionPairs(MessageOptionsSchema, mo, where)) this.emit(i, `option ${p};`);

    // Synthetic oneofs (proto3 `optional`) are not declared in source.
    const synthetic = new Set<number>();
    if (this.syntax === "proto3") {
      for (const f of m.field) {
        const oi = oneofIndexOf(f);
        if (f.proto3Optional && oi !== undefined) synthetic.add(oi);
      }
    }
    const printedOneofs = new Set<number>();
    const fields = m.field;
    let next = 0; // index of the next field to print
    const emitFieldsUpTo = (end: number): void => {
      for (; next < end; next++) {
        const f = fields[next] as FieldDescriptorProto;
        const oi = oneofIndexOf(f);
        if (oi === undefined || synthetic.has(oi)) {
          this.emit(i, this.fieldLine(f, scope, false, where));
          continue;
        }
        if (printedOneofs.has(oi)) fail(`oneof members of ${where} are not contiguous`);
        printedOneofs.add(oi);
        const od = m.oneofDecl[oi] ?? fail(`bad oneof index in ${where}`);
        this.emit(i, `oneof ${od.name} {`);
        for (const p of optionPairs(OneofOptionsSchema, od.options, `${where}.${od.name}`)) {
          this.emit(i + 1, `option ${p};`);
        }
        while (next < end && oneofIndexOf(fields[next] as FieldDescriptorProto) === oi) {
          this.emit(i + 1, this.fieldLine(fields[next] as FieldDescriptorProto, scope, true, where));
          next++;
        }
        next--;
        this.emit(i, "}");
      }
    };
    // Nested types keep their descriptor order: a map field's synthesized
    // entry type is created where the map field is declared, so interleave
    // explicit nested messages with the fields preceding each map field.
    for (const n of m.nestedType) {
      if (n.options?.mapEntry) {
        const typeName = `.${[this.pkg, ...scope.map((x) => x.name), n.name].filter(Boolean).join(".")}`;
        const j = fields.findIndex((f) => f.typeName === typeName && f.label === Label.REPEATED);
        if (j < next) fail(`cannot place map entry ${typeName} in declaration order`);
        emitFieldsUpTo(j + 1);
      } else {
        this.message(n, i, scope);
      }
    }
    emitFieldsUpTo(fields.length);
    m.oneofDecl.forEach((od, idx) => {
      if (!synthetic.has(idx) && !printedOneofs.has(idx)) fail(`empty oneof ${where}.${od.name}`);
    });

    for (const e of m.enumType) this.enumType(e, i);
    this.extensions(m.extension, i, scope);

    for (const r of m.extensionRange) {
      const end = r.end === 536870912 ? "max" : String(r.end - 1);
      const range = r.start === r.end - 1 ? `${r.start}` : `${r.start} to ${end}`;
      const opts = optionPairs(ExtensionRangeOptionsSchema, r.options, `${where} extension range`);
      this.emit(i, `extensions ${range}${bracket(opts)};`);
    }
    for (const r of m.reservedRange) {
      const end = r.end === 536870912 ? "max" : String(r.end - 1);
      this.emit(i, `reserved ${r.start === r.end - 1 ? `${r.start}` : `${r.start} to ${end}`};`);
    }
    for (const n of m.reservedName) {
      this.emit(i, this.syntax === "editions" ? `reserved ${n};` : `reserved ${quote(n)};`);
    }
    this.emit(indent, "}");
  }

  private enumType(e: EnumDescriptorProto, indent: number): void {
    this.emit(indent, `enum ${e.name} {`);
    const i = indent + 1;
    for (const p of optionPairs(EnumOptionsSchema, e.options, e.name)) this.emit(i, `option ${p};`);
    for (const v of e.value) {
      const opts = optionPairs(EnumValueOptionsSchema, v.options, `${e.name}.${v.name}`);
      this.emit(i, `${v.name} = ${v.number}${bracket(opts)};`);
    }
    // Enum reserved ranges are inclusive.
    for (const r of e.reservedRange) {
      const end = r.end === 2147483647 ? "max" : String(r.end);
      this.emit(i, `reserved ${r.start === r.end ? `${r.start}` : `${r.start} to ${end}`};`);
    }
    for (const n of e.reservedName) {
      this.emit(i, this.syntax === "editions" ? `reserved ${n};` : `reserved ${quote(n)};`);
    }
    this.emit(indent, "}");
  }

  private extensions(exts: FieldDescriptorProto[], indent: number, scope: DescriptorProto[]): void {
    let k = 0;
    while (k < exts.length) {
      const extendee = (exts[k] as FieldDescriptorProto).extendee;
      this.emit(indent, `extend ${this.typeRef(extendee, scope)} {`);
      while (k < exts.length && (exts[k] as FieldDescriptorProto).extendee === extendee) {
        const x = exts[k] as FieldDescriptorProto;
        this.emit(indent + 1, this.fieldLine(x, scope, false, `extend ${extendee}`));
        k++;
      }
      this.emit(indent, "}");
      if (indent === 0) this.emit(0, "");
    }
  }
}

// ---------------------------------------------------------------------------
// Verification: compile the output with buf and compare descriptors
// ---------------------------------------------------------------------------

const optionSchemas = new Map<string, DescMessage>(
  [
    FileOptionsSchema,
    MessageOptionsSchema,
    FieldOptionsSchema,
    OneofOptionsSchema,
    EnumOptionsSchema,
    EnumValueOptionsSchema,
    ExtensionRangeOptionsSchema,
  ].map((s) => [s.typeName, s]),
);

/** Strip what the vendored file intentionally does not reproduce. */
function normalize(src: FileDescriptorProto): FileDescriptorProto {
  const f = clone(FileDescriptorProtoSchema, src);
  clearField(f, FileDescriptorProtoSchema.field.sourceCodeInfo);
  if (f.syntax === "proto2") clearField(f, FileDescriptorProtoSchema.field.syntax);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (v === null || typeof v !== "object" || !("$typeName" in v)) return;
    const m = v as Message & Record<string, unknown>;
    m.$unknown = undefined; // custom options, buf image extensions
    if (m.$typeName === "google.protobuf.FieldDescriptorProto") {
      const fd = m as unknown as FieldDescriptorProto;
      if (fd.jsonName === protoCamelCase(fd.name)) clearField(fd, FieldDescriptorProtoSchema.field.jsonName);
    }
    for (const [k, x] of Object.entries(m)) {
      if (k === "$typeName" || k === "$unknown") continue;
      walk(x);
      // Options messages that only held custom options become absent.
      if (k === "options" && x && typeof x === "object" && "$typeName" in x) {
        const o = x as Message;
        const schema = optionSchemas.get(o.$typeName) ?? fail(`unexpected options type ${o.$typeName}`);
        if (toBinary(schema, o).length === 0) m[k] = undefined;
      }
    }
  };
  walk(f);
  return f;
}

function firstDiff(a: unknown, b: unknown, path = "$"): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path}: embedded=${JSON.stringify(a)} vendored=${JSON.stringify(b)}`;
}

export function check(source: string): void {
  const buf = join(repoRoot, "node_modules", ".bin", "buf");
  if (!existsSync(buf)) fail(`${buf} not found (npm install first)`);
  const dir = mkdtempSync(join(tmpdir(), "vendor-protovalidate-"));
  try {
    const name = file_buf_validate_validate.proto.name;
    mkdirSync(join(dir, dirname(name)), { recursive: true });
    writeFileSync(join(dir, name), source);
    writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
    const image = join(dir, "image.binpb");
    execFileSync(buf, ["build", dir, "--exclude-source-info", "-o", image], { stdio: "inherit" });
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
    const built = set.file.find((x) => x.name === name) ?? fail(`${name} missing from buf image`);
    const a = normalize(file_buf_validate_validate.proto);
    const b = normalize(built);
    if (!equals(FileDescriptorProtoSchema, a, b)) {
      const diff = firstDiff(toJson(FileDescriptorProtoSchema, a), toJson(FileDescriptorProtoSchema, b));
      fail(`vendored file does not match the embedded descriptor\n  ${diff ?? "(no JSON diff)"}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

function protovalidateVersion(): string {
  let d = dirname(fileURLToPath(import.meta.resolve("@bufbuild/protovalidate")));
  for (;;) {
    const p = join(d, "package.json");
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@bufbuild/protovalidate") return pkg.version ?? "unknown";
    }
    const up = dirname(d);
    if (up === d) return "unknown";
    d = up;
  }
}

function header(file: FileDescriptorProto): string {
  const version = protovalidateVersion();
  const droppedLines = [...dropped.entries()].map(([key, n]) => {
    const [extendee = "", no = ""] = key.split("#");
    const ext = file.extension.find((x) => x.extendee === `.${extendee}` && String(x.number) === no);
    const name = ext ? `(${file.package ? `${file.package}.` : ""}${ext.name})` : `extension ${no} of ${extendee}`;
    return `//   - ${name} on ${n} ${extendee
      .replace(/^google\.protobuf\./, "")
      .replace(/Options$/, "")
      .toLowerCase()}(s)`;
  });
  return [
    "// Code generated by scripts/vendor-protovalidate.ts. DO NOT EDIT.",
    "//",
    `// Source: the FileDescriptorProto embedded in @bufbuild/protovalidate@${version}`,
    "// (dist/esm/gen/buf/validate/validate_pb.js), i.e. buf/validate/validate.proto from",
    "// https://github.com/bufbuild/protovalidate, Copyright Buf Technologies, Inc.,",
    "// licensed under the Apache License, Version 2.0.",
    "//",
    "// Why vendored: buf cannot reach the Buf Schema Registry in our environment,",
    "// and no npm package ships the .proto source. This file is printed from the",
    "// descriptor the validator itself uses, so names, numbers, types, labels,",
    "// oneofs, reserved/extension ranges and extensions are identical to upstream.",
    "// Comments are not part of that descriptor; see upstream for documentation.",
    "//",
    "// Intentionally dropped custom options (the runtime uses its own embedded",
    "// copy of the standard rules, so these are not needed for validation):",
    ...(droppedLines.length ? droppedLines : ["//   (none)"]),
    "//",
    "// Regenerate (e.g. after upgrading @bufbuild/protovalidate):",
    "//   node --import tsx scripts/vendor-protovalidate.ts",
    "",
  ].join("\n");
}

export function renderProtoFile(file: FileDescriptorProto): string {
  dropped.clear();
  const body = new Renderer(file).render("");
  // header() needs the dropped-option summary collected while rendering.
  return `${header(file)}\n${body.replace(/^\n+/, "")}`;
}

function main(): void {
  const args = new Set(process.argv.slice(2));
  const source = renderProtoFile(file_buf_validate_validate.proto);
  if (!args.has("--no-check")) check(source);
  if (args.has("--stdout")) {
    process.stdout.write(source);
    return;
  }
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, source);
  console.log(
    `wrote ${relative(process.cwd(), outPath)}${args.has("--no-check") ? "" : " (verified against embedded descriptor)"}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
