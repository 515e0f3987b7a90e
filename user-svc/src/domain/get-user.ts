/** GetUser: another account's public profile, for any signed-in caller. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetUserResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { userNotFound } from "../errors.js";
import { findVerifiedUserById } from "../storage/users.js";
import { authenticateCaller } from "./caller.js";
import type { DomainDeps } from "./deps.js";
import { publicProfileMessage } from "./user-message.js";

export async function getUser(
  domain: DomainDeps,
  headers: Headers,
  input: { userId: string },
): Promise<MessageInitShape<typeof GetUserResponseSchema>> {
  await authenticateCaller(domain, headers);
  // An unverified account is nobody yet: it answers like one that never existed.
  const user = await findVerifiedUserById(domain.db, input.userId);
  if (!user) throw userNotFound("no such user");
  return { user: publicProfileMessage(user) };
}
