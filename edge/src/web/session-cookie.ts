/**
 * /api/web: the browser app's sign-in, refresh and sign-out. They are the
 * UserService calls the JSON routes make, but the refresh token never reaches
 * page script: it lives in an httpOnly, SameSite=Strict cookie scoped to
 * /api/web, and the answers carry only the access token and the user. The
 * refresh token rotates on every use exactly as on the JSON path, so a cookie
 * replayed after its rotation is refused and ends the session.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import fastifyCookie, { type CookieSerializeOptions } from "@fastify/cookie";
import type { User } from "@parley/proto/user/v1/user_pb.js";
import {
  LogoutAllResponseSchema,
  LogoutResponseSchema,
  UserService,
  VerifyOtpRequestSchema,
  VerifyOtpResponseSchema,
} from "@parley/proto/user/v1/user_pb.js";
import { appError } from "@parley/shared/errors.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { UserClient } from "../clients.js";
import type { AllowedOrigins } from "../cors.js";
import { bearer, clientCall } from "../forwarding.js";
import { callOptions, decode, render } from "../rest/codec.js";
import { addRoutes, type RestRoute, withFullEnumNames } from "../rest/route.js";
import { requireCsrfProof } from "./csrf.js";

export const SESSION_COOKIE = "parley_refresh";
export const SESSION_COOKIE_PATH = "/api/web";

export interface WebSessionOptions {
  /** The client wrapped withAccountEvents, as for the JSON routes. */
  user: UserClient;
  /** WEB_COOKIE_SECURE, resolved. */
  secure: boolean;
  /** WEB_COOKIE_MAX_AGE in seconds. */
  maxAgeSeconds: number;
}

interface WebSession {
  accessToken: string;
  expiresIn: number;
  user?: User | undefined;
}

function noWebSession() {
  return appError(Code.Unauthenticated, "WEB_SESSION_MISSING", "no web session in this browser; sign in");
}

function isUnauthenticated(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unauthenticated;
}

/** What the session answers leave out of VerifyOtpResponse: the refresh token lives in the cookie. */
const IN_THE_COOKIE = ["refreshToken"] as const;

/** The JSON of verify-otp without its refresh token: {accessToken, expiresIn, user}. */
function sessionBody(session: WebSession) {
  const json = render(VerifyOtpResponseSchema, create(VerifyOtpResponseSchema, session)) as Record<string, unknown>;
  for (const field of IN_THE_COOKIE) delete json[field];
  return json;
}

const sessionResponse = { kind: "message", message: VerifyOtpResponseSchema, omit: IN_THE_COOKIE } as const;

/** Registers the cookie plugin, the CSRF guard and the routes of webSessionRouteTable. */
export async function webSessionRoutes(
  app: FastifyInstance,
  opts: { routes: readonly RestRoute[]; origins: AllowedOrigins },
): Promise<void> {
  // The guard covers the whole scope; the table must say so, as the OpenAPI document is read from it.
  const unmarked = opts.routes.find((r) => !r.csrf);
  if (unmarked) throw new Error(`${unmarked.method} ${unmarked.path} is CSRF-guarded but its route says csrf: false`);
  await app.register(fastifyCookie);
  requireCsrfProof(app, opts.origins);
  addRoutes(app, opts.routes);
}

export function webSessionRouteTable(opts: WebSessionOptions): RestRoute[] {
  const { user } = opts;

  const cookie: CookieSerializeOptions = {
    httpOnly: true,
    sameSite: "strict",
    path: SESSION_COOKIE_PATH,
    secure: opts.secure,
  };
  const keep = (reply: FastifyReply, refreshToken: string) =>
    reply.setCookie(SESSION_COOKIE, refreshToken, { ...cookie, maxAge: opts.maxAgeSeconds });
  const forget = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, cookie);

  /** Spends the cookie's refresh token for a new one (kept in the cookie) and its access token. */
  async function rotate(req: FastifyRequest, reply: FastifyReply) {
    const refreshToken = req.cookies[SESSION_COOKIE];
    try {
      if (!refreshToken) throw noWebSession();
      const res = await user.refreshToken({ refreshToken }, callOptions(req));
      keep(reply, res.refreshToken);
      return res;
    } catch (err) {
      // The cookie is spent, expired or revoked: keeping it would only fail again.
      if (isUnauthenticated(err)) forget(reply);
      throw err;
    }
  }

  /** Call options as the caller with `accessToken` in place of whatever Authorization they sent. */
  const withToken = (req: FastifyRequest, accessToken: string) =>
    clientCall({ authorization: bearer(accessToken), ip: req.ip, userAgent: req.headers["user-agent"] });

  /** A call as the cookie's session, with an access token the cookie buys. */
  async function asCookieUser(req: FastifyRequest, reply: FastifyReply) {
    const { accessToken } = await rotate(req, reply);
    return withToken(req, accessToken);
  }

  return [
    {
      method: "POST",
      path: "/api/web/session",
      operationId: "webSignIn",
      summary: "Sign the web app in with an emailed code",
      auth: "none",
      csrf: true,
      rpc: UserService.method.verifyOtp,
      body: true,
      statuses: [200],
      response: sessionResponse,
      async handler(req, reply) {
        const request = decode(VerifyOtpRequestSchema, withFullEnumNames(VerifyOtpRequestSchema, req.body));
        const res = await user.verifyOtp(request, callOptions(req));
        keep(reply, res.refreshToken);
        return sessionBody({ accessToken: res.accessToken, expiresIn: res.expiresIn, user: res.user });
      },
    },
    {
      method: "POST",
      path: "/api/web/refresh",
      operationId: "webRefresh",
      summary: "A fresh access token for the web session",
      auth: "web-session",
      csrf: true,
      rpc: UserService.method.refreshToken,
      statuses: [200],
      response: sessionResponse,
      async handler(req, reply) {
        const tokens = await rotate(req, reply);
        const { user: profile } = await user.getProfile({}, withToken(req, tokens.accessToken));
        return sessionBody({ accessToken: tokens.accessToken, expiresIn: tokens.expiresIn, user: profile });
      },
    },
    {
      method: "POST",
      path: "/api/web/logout",
      operationId: "webLogout",
      summary: "End the web session",
      auth: "web-session",
      csrf: true,
      rpc: UserService.method.logout,
      statuses: [200],
      // Always ends with the cookie gone: a session already over (spent, expired, revoked) is as good as ended.
      async handler(req, reply) {
        try {
          const res = await user.logout({}, await asCookieUser(req, reply));
          forget(reply);
          return render(LogoutResponseSchema, res);
        } catch (err) {
          if (!isUnauthenticated(err)) throw err;
          forget(reply);
          return render(LogoutResponseSchema, create(LogoutResponseSchema));
        }
      },
    },
    {
      method: "POST",
      path: "/api/web/logout-all",
      operationId: "webLogoutAll",
      summary: "End every session of the web session's user",
      auth: "web-session",
      csrf: true,
      rpc: UserService.method.logoutAll,
      statuses: [200],
      async handler(req, reply) {
        const res = await user.logoutAll({}, await asCookieUser(req, reply));
        forget(reply);
        return render(LogoutAllResponseSchema, res);
      },
    },
  ];
}
