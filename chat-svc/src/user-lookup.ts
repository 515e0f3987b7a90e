/**
 * chat-svc's client for user-svc's UserDirectoryService (one HTTP/2 session,
 * a service token of chat-svc's own): asked about the users the directory
 * has not heard of.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { UserDirectoryService } from "@parley/proto/directory/v1/directory_pb.js";
import type { Logger } from "@parley/shared/logger.js";
import { rpcTracing } from "@parley/shared/rpc-tracing.js";
import { createServiceTokenSource } from "@parley/shared/service-token.js";
import { userDirectoryUnavailable } from "./errors.js";
import type { KnownUser } from "./storage/known-users.js";

/** A lookup waits this long for user-svc before the caller gets `unavailable`. */
const LOOKUP_TIMEOUT_MS = 5_000;

export interface UserLookup {
  /** The verified users among `userIds`; USER_DIRECTORY_UNAVAILABLE when user-svc cannot say. */
  lookup(userIds: readonly string[]): Promise<KnownUser[]>;
  close(): void;
}

export function createUserLookup(opts: { baseUrl: string; secret: string; logger: Logger }): UserLookup {
  const sessionManager = new Http2SessionManager(opts.baseUrl, { pingIntervalMs: 30_000 });
  const client = createClient(
    UserDirectoryService,
    createGrpcTransport({
      baseUrl: opts.baseUrl,
      sessionManager,
      defaultTimeoutMs: LOOKUP_TIMEOUT_MS,
      interceptors: rpcTracing("client"),
    }),
  );
  const token = createServiceTokenSource("chat-svc", opts.secret);
  return {
    async lookup(userIds) {
      try {
        const { users } = await client.lookupUsers(
          { userIds: [...userIds] },
          { headers: { authorization: `Bearer ${await token.get()}` } },
        );
        return users.map((u) => {
          const changedAt = u.updatedAt ? timestampDate(u.updatedAt) : new Date(0);
          // user-svc bumps updated_at on (re)activation, so it versions the flag too.
          return {
            userId: u.id.toLowerCase(),
            username: u.username,
            changedAt,
            status: { deactivated: u.deactivated, changedAt },
          };
        });
      } catch (err) {
        opts.logger.warn({ err }, "user-svc could not be asked about users");
        throw userDirectoryUnavailable();
      }
    },
    close() {
      sessionManager.abort();
    },
  };
}
