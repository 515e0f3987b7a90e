/** GetUser: another account's public profile, for any signed-in caller. */
import { userNotFound } from "../errors.js";
import type { UserRow } from "../storage/schema.js";
import { findVerifiedUserById } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";

export async function getUser(domain: DomainDeps, input: { userId: string }): Promise<UserRow> {
  // An unverified account is nobody yet: it answers like one that never existed.
  const user = await findVerifiedUserById(domain.db, input.userId);
  if (!user) throw userNotFound("no such user");
  return user;
}
