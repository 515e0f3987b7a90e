import type { Identity } from "@parley/shared/auth.js";
import { userNotFound } from "../errors.js";
import type { UserRow } from "../storage/schema.js";
import { findUserById } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";

/** The caller's own account. */
export async function getProfile(domain: DomainDeps, caller: Identity): Promise<UserRow> {
  const user = await findUserById(domain.db, caller.userId);
  if (!user) throw userNotFound();
  return user;
}
