/** /api/users: accounts, sessions and profiles, each one UserService call. */
import {
  GetProfileResponseSchema,
  GetUserRequestSchema,
  GetUserResponseSchema,
  ListSessionsResponseSchema,
  LoginRequestSchema,
  LoginResponseSchema,
  LogoutAllResponseSchema,
  LogoutResponseSchema,
  RefreshTokenRequestSchema,
  RefreshTokenResponseSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ResendOtpRequestSchema,
  ResendOtpResponseSchema,
  SearchUsersRequestSchema,
  SearchUsersResponseSchema,
  UpdateProfileRequestSchema,
  UpdateProfileResponseSchema,
  VerifyOtpRequestSchema,
  VerifyOtpResponseSchema,
} from "@parley/proto/user/v1/user_pb.js";
import type { FastifyInstance } from "fastify";
import type { UserClient } from "../clients.js";
import { callOptions, decode, definedOnly, editObject, enumAlias, render } from "./codec.js";

/** The body with a short `purpose` ("login") as its enum name; also read by the web session route. */
export const otpPurpose = (body: unknown) =>
  editObject(body, (b) => {
    if (b.purpose !== undefined) b.purpose = enumAlias(b.purpose, "OTP_PURPOSE_");
  });

/** `user` is the client wrapped withAccountEvents: the realtime gateway hears of profile changes. */
export function userRoutes(app: FastifyInstance, user: UserClient): void {
  app.post("/api/users/register", async (req, reply) => {
    const res = await user.register(decode(RegisterRequestSchema, req.body), callOptions(req));
    return reply.code(201).send(render(RegisterResponseSchema, res));
  });

  app.post("/api/users/login", async (req) => {
    const res = await user.login(decode(LoginRequestSchema, req.body), callOptions(req));
    return render(LoginResponseSchema, res);
  });

  app.post("/api/users/resend-otp", async (req) => {
    const res = await user.resendOtp(decode(ResendOtpRequestSchema, otpPurpose(req.body)), callOptions(req));
    return render(ResendOtpResponseSchema, res);
  });

  app.post("/api/users/verify-otp", async (req) => {
    const res = await user.verifyOtp(decode(VerifyOtpRequestSchema, otpPurpose(req.body)), callOptions(req));
    return render(VerifyOtpResponseSchema, res);
  });

  app.post("/api/users/refresh", async (req) => {
    const res = await user.refreshToken(decode(RefreshTokenRequestSchema, req.body), callOptions(req));
    return render(RefreshTokenResponseSchema, res);
  });

  app.post("/api/users/logout", async (req) => {
    const res = await user.logout({}, callOptions(req));
    return render(LogoutResponseSchema, res);
  });

  app.post("/api/users/logout-all", async (req) => {
    const res = await user.logoutAll({}, callOptions(req));
    return render(LogoutAllResponseSchema, res);
  });

  app.get("/api/users/sessions", async (req) => {
    const res = await user.listSessions({}, callOptions(req));
    return render(ListSessionsResponseSchema, res);
  });

  app.get("/api/users/profile", async (req) => {
    const res = await user.getProfile({}, callOptions(req));
    return render(GetProfileResponseSchema, res);
  });

  app.patch("/api/users/profile", async (req) => {
    const body = editObject(req.body, (b) => {
      if (b.notificationLevel !== undefined)
        b.notificationLevel = enumAlias(b.notificationLevel, "NOTIFICATION_LEVEL_");
    });
    const res = await user.updateProfile(decode(UpdateProfileRequestSchema, body), callOptions(req));
    return render(UpdateProfileResponseSchema, res);
  });

  // Static paths win over `:id` in Fastify's router whatever the order; declared first for the reader.
  app.get<{ Querystring: { prefix?: string; limit?: string } }>("/api/users/search", async (req) => {
    const { prefix, limit } = req.query;
    const res = await user.searchUsers(
      decode(SearchUsersRequestSchema, definedOnly({ prefix, limit })),
      callOptions(req),
    );
    return render(SearchUsersResponseSchema, res);
  });

  app.get<{ Params: { id: string } }>("/api/users/:id", async (req) => {
    const res = await user.getUser(decode(GetUserRequestSchema, { userId: req.params.id }), callOptions(req));
    return render(GetUserResponseSchema, res);
  });
}
