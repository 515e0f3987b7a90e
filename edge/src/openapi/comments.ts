/**
 * The proto comments of descriptors, from the source info `buf build` keeps
 * in the descriptor set (proto/gen/parley.binpb). The descriptors embedded in
 * the generated code carry none, so the OpenAPI document walks the
 * descriptor set's registry (descriptors.ts), where they are.
 */
import type {
  DescEnum,
  DescEnumValue,
  DescField,
  DescFile,
  DescMessage,
  DescMethod,
  DescService,
} from "@bufbuild/protobuf";

type Commented = DescMessage | DescField | DescEnum | DescEnumValue | DescService | DescMethod;

// Field numbers in descriptor.proto that make up a SourceCodeInfo path.
const FILE_MESSAGE = 4;
const FILE_ENUM = 5;
const FILE_SERVICE = 6;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED = 3;
const MESSAGE_ENUM = 4;
const ENUM_VALUE = 2;
const SERVICE_METHOD = 2;

function path(desc: Commented): number[] {
  switch (desc.kind) {
    case "message":
      return desc.parent
        ? [...path(desc.parent), MESSAGE_NESTED, desc.parent.proto.nestedType.indexOf(desc.proto)]
        : [FILE_MESSAGE, desc.file.proto.messageType.indexOf(desc.proto)];
    case "enum":
      return desc.parent
        ? [...path(desc.parent), MESSAGE_ENUM, desc.parent.proto.enumType.indexOf(desc.proto)]
        : [FILE_ENUM, desc.file.proto.enumType.indexOf(desc.proto)];
    case "enum_value":
      return [...path(desc.parent), ENUM_VALUE, desc.parent.proto.value.indexOf(desc.proto)];
    case "field":
      return [...path(desc.parent), MESSAGE_FIELD, desc.parent.proto.field.indexOf(desc.proto)];
    case "service":
      return [FILE_SERVICE, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...path(desc.parent), SERVICE_METHOD, desc.parent.proto.method.indexOf(desc.proto)];
  }
}

function fileOf(desc: Commented) {
  switch (desc.kind) {
    case "field":
    case "rpc":
    case "enum_value":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

/** Each file's leading comments by source path ("4,2,2,0"), indexed on first use. */
const byPath = new WeakMap<DescFile, Map<string, string>>();

function leadingComments(file: DescFile): Map<string, string> {
  let index = byPath.get(file);
  if (index === undefined) {
    index = new Map();
    for (const l of file.proto.sourceCodeInfo?.location ?? []) {
      if (l.leadingComments) index.set(l.path.join(","), l.leadingComments);
    }
    byPath.set(file, index);
  }
  return index;
}

/** The leading comment of `desc`, one space of indentation off each line; undefined without one. */
export function comments(desc: Commented): string | undefined {
  const text = leadingComments(fileOf(desc)).get(path(desc).join(","));
  if (!text) return undefined;
  return text
    .split("\n")
    .map((line) => line.replace(/^ /, "").trimEnd())
    .join("\n")
    .trim();
}
