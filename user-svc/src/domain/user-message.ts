import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { UserSchema } from "@parley/proto/user/v1/user_pb.js";
import type { UserRow } from "../storage/schema.js";

/** The public view of an account: never the password hash. */
export function userMessage(row: UserRow): MessageInitShape<typeof UserSchema> {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    verified: row.verifiedAt !== null,
    createdAt: timestampFromDate(row.createdAt),
  };
}
