/**
 * The per address and per account limits on the calls an attacker would
 * hammer (guessing passwords or codes, mail bombing), counted by
 * storage/rate-limits.ts. An IPv6 client is counted by its /64 (see
 * ip-address.ts).
 */
import { rateLimited } from "@parley/shared/errors.js";
import type { LimitedOperation } from "../storage/rate-limits.js";
import type { DomainDeps } from "./deps.js";
import { ipBucket } from "./ip-address.js";

/** Counts one call by `ip` about `account`; throws RATE_LIMITED with retryAfterSeconds when either is over its limit. */
export async function enforceRateLimit(
  domain: Pick<DomainDeps, "rateLimits">,
  operation: LimitedOperation,
  key: { ip: string; account: string },
): Promise<void> {
  const wait = await domain.rateLimits.consume(operation, { ipBucket: ipBucket(key.ip), account: key.account });
  if (wait !== undefined) throw rateLimited(wait);
}
