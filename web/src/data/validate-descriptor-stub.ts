/**
 * Stands in for protovalidate's buf/validate/validate.proto descriptor, and
 * for our own predefined rules (parley/rules/v1/rules.proto, which extend it),
 * in the browser bundle (vite.config.ts aliases both). Our generated files
 * name them as dependencies only for the validation options on their fields,
 * which the server enforces and the browser never reads; empty files of the
 * same names let their descriptors load, and keep ~80 KB of rules out of the
 * first download.
 */
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import { fileDesc } from "@bufbuild/protobuf/codegenv2";

// FileDescriptorProto { name: "buf/validate/validate.proto", package: "buf.validate", syntax: "proto3" }.
export const file_buf_validate_validate: GenFile = fileDesc(
  "ChtidWYvdmFsaWRhdGUvdmFsaWRhdGUucHJvdG8SDGJ1Zi52YWxpZGF0ZWIGcHJvdG8z",
);

// FileDescriptorProto { name: "parley/rules/v1/rules.proto", package: "parley.rules.v1" }.
export const file_parley_rules_v1_rules: GenFile = fileDesc(
  "ChtwYXJsZXkvcnVsZXMvdjEvcnVsZXMucHJvdG8SD3BhcmxleS5ydWxlcy52MQ",
);
