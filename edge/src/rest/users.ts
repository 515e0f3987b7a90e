/** /api/users: accounts, sessions and profiles, each one UserService call. */
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import type { UserClient } from "../clients.js";
import { forward, type RestRoute } from "./route.js";

const rpc = UserService.method;

/** `user` is the client wrapped withAccountEvents: the realtime gateway hears of profile changes. */
export function userRoutes(user: UserClient): RestRoute[] {
  return [
    forward(user, {
      method: "POST",
      path: "/api/users/register",
      summary: "Register an account",
      auth: "none",
      rpc: rpc.register,
      body: true,
      statuses: [201],
    }),
    forward(user, {
      method: "POST",
      path: "/api/users/login",
      summary: "Log in: check the password, email a code",
      auth: "none",
      rpc: rpc.login,
      body: true,
      statuses: [200],
    }),
    forward(user, {
      method: "POST",
      path: "/api/users/resend-otp",
      summary: "Email a fresh code",
      auth: "none",
      rpc: rpc.resendOtp,
      body: true,
      statuses: [200],
    }),
    forward(user, {
      method: "POST",
      path: "/api/users/verify-otp",
      summary: "Exchange an emailed code for tokens",
      auth: "none",
      rpc: rpc.verifyOtp,
      body: true,
      statuses: [200],
    }),
    forward(user, {
      method: "POST",
      path: "/api/users/refresh",
      summary: "Rotate a refresh token",
      auth: "none",
      rpc: rpc.refreshToken,
      body: true,
      statuses: [200],
    }),
    forward(user, {
      method: "POST",
      path: "/api/users/logout",
      summary: "End this session",
      auth: "bearer",
      rpc: rpc.logout,
      statuses: [200],
    }),
    forward(user, {
      method: "POST",
      path: "/api/users/logout-all",
      summary: "End every session",
      auth: "bearer",
      rpc: rpc.logoutAll,
      statuses: [200],
    }),
    forward(user, {
      method: "GET",
      path: "/api/users/sessions",
      summary: "List my sessions",
      auth: "bearer",
      rpc: rpc.listSessions,
      statuses: [200],
    }),
    forward(user, {
      method: "GET",
      path: "/api/users/profile",
      summary: "My profile",
      auth: "bearer",
      rpc: rpc.getProfile,
      statuses: [200],
    }),
    forward(user, {
      method: "PATCH",
      path: "/api/users/profile",
      summary: "Change my profile",
      auth: "bearer",
      rpc: rpc.updateProfile,
      body: true,
      statuses: [200],
    }),
    // Static paths win over `:id` in Fastify's router whatever the order; listed first for the reader.
    forward(user, {
      method: "GET",
      path: "/api/users/search",
      summary: "Search users by username prefix",
      auth: "bearer",
      rpc: rpc.searchUsers,
      query: { prefix: "prefix", limit: "limit" },
      statuses: [200],
    }),
    forward(user, {
      method: "GET",
      path: "/api/users/:id",
      summary: "A user's public profile",
      auth: "bearer",
      rpc: rpc.getUser,
      params: { id: "userId" },
      statuses: [200],
    }),
  ];
}
