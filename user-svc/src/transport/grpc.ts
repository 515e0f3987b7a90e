/**
 * parley.user.v1.UserService over gRPC. Requests arrive already validated
 * against their proto rules (grpcHandlers); this only maps them to actions.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import type { UserDomain } from "../domain/context.js";
import { getProfile } from "../domain/get-profile.js";
import { login } from "../domain/login.js";
import { register } from "../domain/register.js";
import { verifyOtp } from "../domain/verify-otp.js";

export { UserService };

export function userServiceImpl(domain: UserDomain): ServiceImpl<typeof UserService> {
  return {
    register: (req) => register(domain, { email: req.email, username: req.username, password: req.password }),
    login(req) {
      const { identifier } = req;
      // The oneof is required by its proto rule; this narrows the type.
      if (identifier.case === undefined) throw new Error("validated request without an identifier");
      return login(domain, { identifier: { kind: identifier.case, value: identifier.value }, password: req.password });
    },
    verifyOtp: (req) => verifyOtp(domain, { email: req.email, otp: req.otp, purpose: req.purpose }),
    getProfile: (_req, ctx) => getProfile(domain, ctx.requestHeader),
  };
}
