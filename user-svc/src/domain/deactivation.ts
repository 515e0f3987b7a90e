/**
 * Deactivating and reactivating an account (operators only:
 * `npm run admin -- user deactivate|reactivate`). Deactivation sets
 * deactivated_at and writes user.deactivated in one transaction, then ends
 * every session the way "sign out everywhere" does, so every service refuses
 * the access tokens at once and every edge closes the user's sockets.
 * Sign-in, refresh and code checks refuse the account from then on
 * (ACCOUNT_DEACTIVATED).
 *
 * The flag is committed before the sessions are ended, and a sign-in checks
 * the flag again after it created its session (verify-otp.ts, refresh-token.ts):
 * a sign-in racing a deactivation either sees the flag and ends its own
 * session, or created that session before the flag was committed, so the
 * revocation that follows the commit ends it.
 *
 * Repeating either is harmless: nothing changes, no second event is written
 * (the sessions are ended again all the same, which finds none).
 */
import { enqueueEvent } from "@parley/shared/outbox.js";
import { userNotFound } from "../errors.js";
import type { UserRow } from "../storage/schema.js";
import { revokeAllSessions } from "../storage/sessions.js";
import { findUserById, lockUserById, setDeactivated } from "../storage/users.js";
import type { DomainDeps } from "./deps.js";

export type DeactivationDeps = Pick<DomainDeps, "db" | "redis" | "redisKeyPrefix">;

export interface DeactivationResult {
  user: UserRow;
  /** False when the account already was in that state (no event written). */
  changed: boolean;
  /** Sessions that were still live and have now ended (deactivation only). */
  sessionsEnded: number;
}

async function setState(deps: DeactivationDeps, userId: string, deactivated: boolean) {
  return deps.db.transaction(async (tx) => {
    const current = await lockUserById(tx, userId);
    // An unverified account cannot sign in; there is nothing to deactivate.
    if (!current?.verifiedAt) throw userNotFound("no verified account has this id");
    const updated = await setDeactivated(tx, userId, deactivated);
    if (!updated) return { user: current, changed: false };
    const event = { userId: updated.id, email: updated.email, username: updated.username };
    await enqueueEvent(tx, deactivated ? "user.deactivated" : "user.reactivated", event);
    return { user: updated, changed: true };
  });
}

export async function deactivateUser(deps: DeactivationDeps, userId: string): Promise<DeactivationResult> {
  const result = await setState(deps, userId, true);
  const sessionsEnded = await revokeAllSessions(deps.redis, {
    prefix: deps.redisKeyPrefix,
    userId,
    reason: "deactivated",
  });
  return { ...result, sessionsEnded };
}

export async function reactivateUser(deps: DeactivationDeps, userId: string): Promise<DeactivationResult> {
  return { ...(await setState(deps, userId, false)), sessionsEnded: 0 };
}

/** True if the account is (now) deactivated; read after a session was created, see the module comment. */
export async function isDeactivated(deps: Pick<DomainDeps, "db">, userId: string): Promise<boolean> {
  const user = await findUserById(deps.db, userId);
  return user !== undefined && user.deactivatedAt !== null;
}
