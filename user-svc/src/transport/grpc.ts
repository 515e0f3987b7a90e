/**
 * parley.user.v1.UserService over gRPC: authenticate the caller and read the
 * client, translate between proto and domain, nothing else. Requests arrive
 * already validated against their proto rules (grpcHandlers).
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import type { DomainDeps } from "../domain/deps.js";
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
import { callerReader } from "./caller.js";
import { clientInfoReader } from "./client-info.js";
import { publicProfileMessage, userMessage } from "./user-message.js";

export { UserService };

export function userServiceImpl(domain: DomainDeps): ServiceImpl<typeof UserService> {
  const clientInfo = clientInfoReader(domain.tokens);
  const readCaller = callerReader(domain);
  const caller = (ctx: HandlerContext) => readCaller(ctx.requestHeader);
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
    async verifyOtp(req, ctx) {
      const signedIn = await verifyOtp(domain, {
        email: req.email,
        otp: req.otp,
        purpose: req.purpose,
        client: await clientInfo(ctx.requestHeader),
      });
      return { ...signedIn, user: userMessage(signedIn.user) };
    },
    refreshToken: (req) => refreshToken(domain, { refreshToken: req.refreshToken }),
    async logout(_req, ctx) {
      await logout(domain, await caller(ctx));
      return {};
    },
    logoutAll: async (_req, ctx) => ({ sessionsEnded: await logoutAll(domain, await caller(ctx)) }),
    async listSessions(_req, ctx) {
      const sessions = await listMySessions(domain, await caller(ctx));
      return {
        sessions: sessions.map((s) => ({
          id: s.id,
          createdAt: timestampFromDate(s.createdAt),
          lastUsedAt: timestampFromDate(s.lastUsedAt),
          userAgent: s.userAgent,
          ip: s.ip,
          current: s.current,
        })),
      };
    },
    getProfile: async (_req, ctx) => ({ user: userMessage(await getProfile(domain, await caller(ctx))) }),
    async updateProfile(req, ctx) {
      const user = await updateProfile(domain, await caller(ctx), {
        displayName: req.displayName,
        avatarUrl: req.avatarUrl,
        bio: req.bio,
        statusText: req.statusText,
        notificationLevel: req.notificationLevel,
      });
      return { user: userMessage(user) };
    },
    async getUser(req, ctx) {
      await caller(ctx);
      return { user: publicProfileMessage(await getUser(domain, { userId: req.userId })) };
    },
    async searchUsers(req, ctx) {
      await caller(ctx);
      const users = await searchUsers(domain, { prefix: req.prefix, limit: req.limit });
      return { users: users.map(publicProfileMessage) };
    },
  };
}
