import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetProfileResponseSchema } from "@parley/proto/user/v1/user_pb.js";
import { userNotFound } from "../errors.js";
import { findUserById } from "../storage/users.js";
import { authenticateCaller } from "./caller.js";
import type { DomainDeps } from "./deps.js";
import { userMessage } from "./user-message.js";

/** The caller's own account; the caller is whoever the verified token and live session say. */
export async function getProfile(
  domain: DomainDeps,
  headers: Headers,
): Promise<MessageInitShape<typeof GetProfileResponseSchema>> {
  const identity = await authenticateCaller(domain, headers);
  const user = await findUserById(domain.db, identity.userId);
  if (!user) throw userNotFound();
  return { user: userMessage(user) };
}
