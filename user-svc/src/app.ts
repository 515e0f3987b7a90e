/**
 * Builds user-svc from its connections: the gRPC server with UserService,
 * health and reflection. main.ts listens; tests listen on port 0.
 */
import { createTokenKeys } from "@parley/shared/auth.js";
import { boundedStep } from "@parley/shared/bounded-step.js";
import { createDependencyHealth, watchDatabase, watchRedis } from "@parley/shared/dependency-health.js";
import { createGrpcServer, grpcHandlers } from "@parley/shared/grpc-server.js";
import type { Logger } from "@parley/shared/logger.js";
import type { Sql } from "@parley/shared/postgres.js";
import type { GrpcApp } from "@parley/shared/service-main.js";
import { createAuthenticator } from "@parley/shared/sessions.js";
import { drizzle } from "drizzle-orm/postgres-js";
import type { Redis } from "ioredis";
import type { Config } from "./config.js";
import { createBackground } from "./domain/background.js";
import type { DomainDeps } from "./domain/deps.js";
import { preparePasswordChecks } from "./domain/passwords.js";
import { createOtpStore } from "./storage/otp-store.js";
import { createRateLimits } from "./storage/rate-limits.js";
import * as schema from "./storage/schema.js";
import { createUsernameHolds } from "./storage/username-holds.js";
import { withPeerAddress } from "./transport/client-info.js";
import { UserService, userServiceImpl } from "./transport/grpc.js";
import { UserDirectoryService, userDirectoryImpl } from "./transport/user-directory.js";

export interface AppDeps {
  config: Pick<
    Config,
    | "JWT_SECRET"
    | "OTP_EXPIRY"
    | "OTP_RESEND_COOLDOWN"
    | "ACCESS_TOKEN_TTL"
    | "SESSION_TTL"
    | "REGISTER_NOTICE_INTERVAL"
    | "REDIS_KEY_PREFIX"
    | "RATE_LIMIT_REGISTER_PER_IP"
    | "RATE_LIMIT_REGISTER_PER_ACCOUNT"
    | "RATE_LIMIT_LOGIN_PER_IP"
    | "RATE_LIMIT_LOGIN_PER_ACCOUNT"
    | "RATE_LIMIT_VERIFY_OTP_PER_IP"
    | "RATE_LIMIT_VERIFY_OTP_PER_ACCOUNT"
    | "RATE_LIMIT_RESEND_OTP_PER_IP"
    | "RATE_LIMIT_RESEND_OTP_PER_ACCOUNT"
  >;
  sql: Sql;
  redis: Redis;
  logger: Logger;
}

export interface App extends GrpcApp {
  /** Resolves once the work calls left running after their replies (ResendOtp's mail) is done. */
  settled(): Promise<void>;
  /** Stops taking calls, then waits for that work, so the connections can close after it. */
  close(): Promise<void>;
}

export async function build(deps: AppDeps): Promise<App> {
  const { config, redis, logger } = deps;
  const tokens = createTokenKeys(config.JWT_SECRET);
  const background = createBackground(logger);
  const domain: DomainDeps = {
    db: drizzle(deps.sql, { schema }),
    redis,
    otp: createOtpStore({
      redis,
      prefix: config.REDIS_KEY_PREFIX,
      secret: config.JWT_SECRET,
      ttlSeconds: config.OTP_EXPIRY,
    }),
    rateLimits: createRateLimits({
      redis,
      prefix: config.REDIS_KEY_PREFIX,
      settings: {
        register: { perIp: config.RATE_LIMIT_REGISTER_PER_IP, perAccount: config.RATE_LIMIT_REGISTER_PER_ACCOUNT },
        login: { perIp: config.RATE_LIMIT_LOGIN_PER_IP, perAccount: config.RATE_LIMIT_LOGIN_PER_ACCOUNT },
        verify_otp: {
          perIp: config.RATE_LIMIT_VERIFY_OTP_PER_IP,
          perAccount: config.RATE_LIMIT_VERIFY_OTP_PER_ACCOUNT,
        },
        resend_otp: {
          perIp: config.RATE_LIMIT_RESEND_OTP_PER_IP,
          perAccount: config.RATE_LIMIT_RESEND_OTP_PER_ACCOUNT,
        },
      },
    }),
    usernameHolds: createUsernameHolds(redis, config.REDIS_KEY_PREFIX),
    background,
    tokens,
    authenticator: createAuthenticator({ keys: tokens, redis, prefix: config.REDIS_KEY_PREFIX }),
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    otpTtlSeconds: config.OTP_EXPIRY,
    otpResendCooldownSeconds: config.OTP_RESEND_COOLDOWN,
    accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL,
    sessionTtlSeconds: config.SESSION_TTL,
    registerNoticeIntervalSeconds: config.REGISTER_NOTICE_INTERVAL,
  };
  await preparePasswordChecks();
  const handlers = grpcHandlers(UserService, userServiceImpl(domain), { logger, interceptors: [withPeerAddress] });
  const server = createGrpcServer({
    bindings: [
      { service: UserService, handlers },
      {
        service: UserDirectoryService,
        handlers: grpcHandlers(UserDirectoryService, userDirectoryImpl(domain), { logger }),
      },
    ],
  });
  // What user-svc needs to answer calls (see dependency-health.ts): not RabbitMQ.
  const health = createDependencyHealth({ logger, needs: ["postgres", "redis"] });
  watchRedis(health, redis, "redis", { probe: true });
  watchDatabase(health, deps.sql);
  server.setServing(health.serving);
  health.onChange((serving) => server.setServing(serving));
  return {
    listen: server.listen,
    ready: server.ready,
    drain: server.drain,
    settled: () => background.drain(),
    async close() {
      health.close();
      await server.close();
      // Bounded: that work waits on PostgreSQL and Redis, either of which may have gone silent.
      await boundedStep(logger, "work left running after replies", 2_000, background.drain());
    },
  };
}
