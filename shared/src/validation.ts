/**
 * Input validation from the constraints declared in proto (protovalidate).
 * One validator per process: it caches compiled rules per message type.
 */
import { createRegistry, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, type ConnectError } from "@connectrpc/connect";
import { file_parley_rules_v1_rules } from "@parley/proto/rules/v1/rules_pb.js";
import { appError } from "./errors.js";

// Our predefined rules (proto/parley/rules) must be known to the validator, which refuses rules it cannot resolve.
const validator = createValidator({ registry: createRegistry(file_parley_rules_v1_rules) });

/**
 * Violation messages quote the rule's own value; the one rule whose value is
 * unprintable (free text refuses U+0000, which PostgreSQL text cannot hold)
 * gets words instead.
 */
function describe(v: { ruleId: string; message: string }): string {
  if (v.ruleId === "string.not_contains" && v.message.includes("\u0000")) return "must not contain NUL characters";
  return v.message;
}

/** Returns an InvalidArgument error naming each violated field, or undefined. */
export function validationError<D extends DescMessage>(schema: D, message: MessageShape<D>): ConnectError | undefined {
  const result = validator.validate(schema, message);
  if (result.kind === "valid") return undefined;
  if (result.kind === "error") throw result.error;
  const violations = result.violations.map((v) => {
    return { field: pathToString(v.field) || "(message)", message: describe(v) };
  });
  const metadata: Record<string, string> = {};
  for (const v of violations) metadata[v.field] = v.message;
  return appError(
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
    violations.map((v) => `${v.field}: ${v.message}`).join("; "),
    metadata,
  );
}

export function assertValid<D extends DescMessage>(schema: D, message: MessageShape<D>): void {
  const err = validationError(schema, message);
  if (err) throw err;
}
