/**
 * The realtime gateway hears of profile changes made through this edge
 * however they came, REST or Connect: both use this wrapped UserService
 * client, which tells the gateway after a successful UpdateProfile. (Ended
 * sessions reach every edge from user-svc itself: realtime/session-ends.ts.)
 */
import type { CallOptions } from "@connectrpc/connect";
import { bearerToken } from "@parley/shared/auth.js";
import type { UserClient } from "./clients.js";
import { tokenClaims } from "./token-claims.js";

export interface AccountEvents {
  /** New sockets get the changed profile in `ready`. */
  profileChanged(userId: string): void;
}

/** The caller's user id from the token's claims; read only after the service accepted the token. */
function callerId(options: CallOptions | undefined): string | undefined {
  const token = bearerToken(new Headers(options?.headers));
  return token === undefined ? undefined : tokenClaims(token)?.userId;
}

export function withAccountEvents(user: UserClient, events: AccountEvents): UserClient {
  return {
    ...user,
    async updateProfile(request, options) {
      const res = await user.updateProfile(request, options);
      const userId = res.user?.id ?? callerId(options);
      if (userId) events.profileChanged(userId);
      return res;
    },
  };
}
