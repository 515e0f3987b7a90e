/**
 * Builds web/dist, which the edge serves at `/`. `npm run dev -w web`
 * proxies the API, the socket and the Connect paths to a running stack
 * (PARLEY_EDGE_URL, default http://localhost:3000).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type DescMessage, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  FileOptionsSchema,
  MessageOptionsSchema,
  MethodOptionsSchema,
  OneofOptionsSchema,
  ServiceOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const edge = process.env.PARLEY_EDGE_URL ?? "http://localhost:3000";
const proxy = {
  "/api": { target: edge },
  "/ws": { target: edge, ws: true },
  "/parley.": { target: edge },
};

/**
 * Emits sw.js with everything to precache: index.html, every file the build
 * emitted under assets/ (the entry and each lazily loaded chunk with its CSS,
 * so a screen first opened offline loads too), the manifest and the icons.
 */
function serviceWorker(): Plugin {
  return {
    name: "parley-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const shell = new Set<string>(["/", "/manifest.webmanifest", "/icon.svg", "/icon-192.png", "/icon-512.png"]);
      for (const file of Object.values(bundle)) {
        if (file.fileName.startsWith("assets/") && !file.fileName.endsWith(".map")) shell.add(`/${file.fileName}`);
      }
      const list = [...shell].sort();
      const version = createHash("sha256").update(list.join("\n")).digest("hex").slice(0, 12);
      const source = readFileSync(new URL("./sw/service-worker.js", import.meta.url), "utf8")
        .replace("__VERSION__", version)
        .replace("__PRECACHE__", JSON.stringify(list));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

/**
 * Drops from proto/gen's embedded descriptors the option extensions the
 * browser has no descriptor for (protovalidate's rules: validate.proto is a
 * stub here, see src/data/validate-descriptor-stub.ts). They decode as unknown
 * bytes nobody reads, and are a kilobyte of the first download. Options the
 * runtime knows (packed, deprecated, …) stay.
 */
function protoDescriptorsWithoutExtensions(): Plugin {
  /** Clears the unknown fields of `holder.options`, and the options themselves when nothing else is left. */
  const strip =
    <O extends Message>(schema: DescMessage & GenMessage<O>) =>
    (holder: { options?: O | undefined }) => {
      const options = holder.options;
      if (!options) return;
      options.$unknown = undefined;
      if (toBinary(schema, options).length === 0) holder.options = undefined;
    };
  const field = strip(FieldOptionsSchema);
  const oneof = strip(OneofOptionsSchema);
  const enumOpts = strip(EnumOptionsSchema);
  const value = strip(EnumValueOptionsSchema);
  const enums = (list: EnumDescriptorProto[]) => {
    for (const e of list) {
      enumOpts(e);
      e.value.forEach(value);
    }
  };
  const messages = (list: DescriptorProto[]) => {
    for (const m of list) {
      strip(MessageOptionsSchema)(m);
      m.field.forEach(field);
      m.oneofDecl.forEach(oneof);
      enums(m.enumType);
      messages(m.nestedType);
    }
  };
  return {
    name: "parley-proto-descriptors",
    apply: "build",
    transform(code, id) {
      if (!/\/proto\/gen\/.*_pb\.ts$/.test(id)) return null;
      const stripped = code.replace(/fileDesc\("([A-Za-z0-9+/=]+)"/, (_all, b64: string) => {
        const file = fromBinary(FileDescriptorProtoSchema, base64Decode(b64));
        strip(FileOptionsSchema)(file);
        messages(file.messageType);
        enums(file.enumType);
        for (const service of file.service) {
          strip(ServiceOptionsSchema)(service);
          service.method.forEach(strip(MethodOptionsSchema));
        }
        return `fileDesc("${base64Encode(toBinary(FileDescriptorProtoSchema, file), "std_raw")}"`;
      });
      // One string on one line changed: the source map stays right without one of our own.
      return { code: stripped, map: null };
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker(), protoDescriptorsWithoutExtensions()],
  resolve: {
    alias: [
      {
        find: "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js",
        replacement: fileURLToPath(new URL("./src/data/validate-descriptor-stub.ts", import.meta.url)),
      },
      {
        // Our predefined rules extend validate.proto's StringRules, which the stub above does not have.
        find: /^.*\/rules\/v1\/rules_pb\.js$/,
        replacement: fileURLToPath(new URL("./src/data/validate-descriptor-stub.ts", import.meta.url)),
      },
    ],
  },
  server: { proxy },
  preview: { proxy },
  // Every browser the app supports (ES2022) has modulepreload: no polyfill in the entry chunk.
  build: { target: "es2022", assetsInlineLimit: 0, modulePreload: { polyfill: false } },
});
