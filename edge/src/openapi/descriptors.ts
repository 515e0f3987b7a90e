/**
 * The descriptor set `npm run proto` writes (proto/gen/parley.binpb): the same
 * messages as the generated code, with their comments and options.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  createFileRegistry,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  fromBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const require = createRequire(import.meta.url);

export function loadDescriptorSet(): FileRegistry {
  const bytes = readFileSync(require.resolve("@parley/proto/descriptor-set"));
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
}

/** `message` as the descriptor set has it; a message missing there means the set is stale. */
export function inSet(registry: FileRegistry, message: DescMessage): DescMessage {
  const found = registry.getMessage(message.typeName);
  if (!found) throw new Error(`${message.typeName} is not in the descriptor set: run \`npm run proto\``);
  return found;
}

export function methodInSet(registry: FileRegistry, method: DescMethod): DescMethod {
  const found = registry.getService(method.parent.typeName)?.methods.find((m) => m.name === method.name);
  if (!found)
    throw new Error(`${method.parent.typeName}.${method.name} is not in the descriptor set: run \`npm run proto\``);
  return found;
}
