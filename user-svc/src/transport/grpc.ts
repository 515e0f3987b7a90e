/**
 * parley.user.v1.UserService over gRPC. Requests arrive already validated
 * against their proto rules (grpcHandlers); this only maps them to actions.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import type { UserDomain } from "../domain/context.js";
import { getProfile } from "../domain/get-profile.js";
import { getUser } from "../domain/get-user.js";
import { listMySessions } from "../domain/list-sessions.js";
import { login } from "../domain/login.js";
import { logout } from "../domain/logout.js";
import { logoutAll } from "../domain/logout-all.js";
import { refreshToken } from "../domain/refresh-token.js";
import { register } from "../domain/register.js";
import { resendOtp } from "../domain/resend-otp.js";
import { searchUsers } from "../domain/search-users.js";
import { updateProfile } from "../domain/update-profile.js";
import { verifyOtp } from "../domain/verify-otp.js";
import { clientInfoReader } from "./client-info.js";

export { UserService };

export function userServiceImpl(domain: UserDomain): ServiceImpl<typeof UserService> {
  const clientInfo = clientInfoReader(domain.tokens);
  return {
    register: async (req, ctx) =>
      register(domain, {
        email: req.email,
        username: req.username,
        password: req.password,
        client: await clientInfo(ctx.requestHeader),
      }),
    async login(req, ctx) {
      const { identifier } = req;
      // The oneof is required by its proto rule; this narrows the type.
      if (identifier.case === undefined) throw new Error("validated request without an identifier");
      return login(domain, {
        identifier: { kind: identifier.case, value: identifier.value },
        password: req.password,
        client: await clientInfo(ctx.requestHeader),
      });
    },
    resendOtp: async (req, ctx) =>
      resendOtp(domain, { email: req.email, purpose: req.purpose, client: await clientInfo(ctx.requestHeader) }),
    verifyOtp: async (req, ctx) =>
      verifyOtp(domain, {
        email: req.email,
        otp: req.otp,
        purpose: req.purpose,
        client: await clientInfo(ctx.requestHeader),
      }),
    refreshToken: (req) => refreshToken(domain, { refreshToken: req.refreshToken }),
    logout: (_req, ctx) => logout(domain, ctx.requestHeader),
    logoutAll: (_req, ctx) => logoutAll(domain, ctx.requestHeader),
    listSessions: (_req, ctx) => listMySessions(domain, ctx.requestHeader),
    getProfile: (_req, ctx) => getProfile(domain, ctx.requestHeader),
    updateProfile: (req, ctx) =>
      updateProfile(domain, ctx.requestHeader, {
        displayName: req.displayName,
        avatarUrl: req.avatarUrl,
        bio: req.bio,
        statusText: req.statusText,
        notificationLevel: req.notificationLevel,
      }),
    getUser: (req, ctx) => getUser(domain, ctx.requestHeader, { userId: req.userId }),
    searchUsers: (req, ctx) => searchUsers(domain, ctx.requestHeader, { prefix: req.prefix, limit: req.limit }),
  };
}
