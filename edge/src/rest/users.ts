/** /api/users: the seed's account routes, each one UserService call. */
import {
  GetProfileResponseSchema,
  LoginRequestSchema,
  LoginResponseSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  VerifyOtpRequestSchema,
  VerifyOtpResponseSchema,
} from "@parley/proto/user/v1/user_pb.js";
import type { FastifyInstance } from "fastify";
import type { UserClient } from "../clients.js";
import { callOptions, decode, editObject, enumAlias, render } from "./codec.js";

export function userRoutes(app: FastifyInstance, user: UserClient): void {
  app.post("/api/users/register", async (req, reply) => {
    const res = await user.register(decode(RegisterRequestSchema, req.body), callOptions(req));
    return reply.code(201).send(render(RegisterResponseSchema, res));
  });

  app.post("/api/users/login", async (req) => {
    const res = await user.login(decode(LoginRequestSchema, req.body), callOptions(req));
    return render(LoginResponseSchema, res);
  });

  app.post("/api/users/verify-otp", async (req) => {
    const body = editObject(req.body, (b) => {
      if (b.purpose !== undefined) b.purpose = enumAlias(b.purpose, "OTP_PURPOSE_");
    });
    const res = await user.verifyOtp(decode(VerifyOtpRequestSchema, body), callOptions(req));
    return render(VerifyOtpResponseSchema, res);
  });

  app.get("/api/users/profile", async (req) => {
    const res = await user.getProfile({}, callOptions(req));
    return render(GetProfileResponseSchema, res);
  });
}
