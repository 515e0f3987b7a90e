/**
 * Stands in for protovalidate's buf/validate/validate.proto descriptor in the
 * browser bundle (vite.config.ts aliases it). Our generated files name it as a
 * dependency only for the validation options on their fields, which the server
 * enforces and the browser never reads; an empty file of the same name lets
 * their descriptors load, and keeps ~80 KB of rules out of the first download.
 */
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import { fileDesc } from "@bufbuild/protobuf/codegenv2";

// FileDescriptorProto { name: "buf/validate/validate.proto", package: "buf.validate", syntax: "proto3" }.
export const file_buf_validate_validate: GenFile = fileDesc(
  "ChtidWYvdmFsaWRhdGUvdmFsaWRhdGUucHJvdG8SDGJ1Zi52YWxpZGF0ZWIGcHJvdG8z",
);
