/**
 * The realtime gateway hears of account changes made through this edge
 * however they came, REST or Connect: both use this wrapped UserService
 * client, which tells the gateway after a successful Logout, LogoutAll or
 * UpdateProfile.
 */
import type { CallOptions } from "@connectrpc/connect";
import { bearerToken } from "@parley/shared/auth.js";
import type { UserClient } from "./clients.js";
import { type TokenClaims, tokenClaims } from "./token-claims.js";

export interface AccountEvents {
  /** A logout ended sessions: their sockets here close at once. */
  sessionsEnded(scope: { sessionId: string } | { userId: string }): void;
  /** New sockets get the changed profile in `ready`. */
  profileChanged(userId: string): void;
}

/** The caller's token claims; read only after the service accepted the token. */
function callerClaims(options: CallOptions | undefined): TokenClaims | undefined {
  const token = bearerToken(new Headers(options?.headers));
  return token === undefined ? undefined : tokenClaims(token);
}

export function withAccountEvents(user: UserClient, events: AccountEvents): UserClient {
  return {
    ...user,
    async logout(request, options) {
      const res = await user.logout(request, options);
      const claims = callerClaims(options);
      if (claims) events.sessionsEnded({ sessionId: claims.sessionId });
      return res;
    },
    async logoutAll(request, options) {
      const res = await user.logoutAll(request, options);
      const claims = callerClaims(options);
      if (claims) events.sessionsEnded({ userId: claims.userId });
      return res;
    },
    async updateProfile(request, options) {
      const res = await user.updateProfile(request, options);
      const userId = res.user?.id ?? callerClaims(options)?.userId;
      if (userId) events.profileChanged(userId);
      return res;
    },
  };
}
