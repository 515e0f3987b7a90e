/**
 * Who a socket's token belongs to. The token is verified here (signature,
 * expiry) and its session checked live in Redis, exactly as every service
 * checks a caller (shared/sessions.ts), so a logout or a reused refresh token
 * refuses new sockets at once. The profile sent in `ready` comes from
 * user-svc (GetProfile with the socket's token) once per user and is reused
 * for PROFILE_TTL_MS: a reconnect storm or a user's many tabs cost one call,
 * not one per socket (each call's state, alive across garbage collections
 * during a storm, is what inflates the edge's memory most). A profile changed
 * through this edge is fetched afresh; one changed elsewhere shows in new
 * sockets' `ready` within the TTL.
 */
import type { CallOptions } from "@connectrpc/connect";
import type { User } from "@parley/proto/user/v1/user_pb.js";
import { appError, Code, ConnectError, internal } from "@parley/shared/errors.js";
import type { Authenticator } from "@parley/shared/sessions.js";
import type { UserClient } from "../clients.js";

const PROFILE_TTL_MS = 10_000;
/** Profiles remembered at most; past it the cache starts over (it is only a cache). */
const MAX_PROFILES = 100_000;

export interface SocketIdentity {
  userId: string;
  sessionId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  user: User;
}

export interface SocketAuth {
  /** Throws Unauthenticated for a token that does not verify or whose session has ended. */
  authenticate(token: string, profileCall: CallOptions): Promise<SocketIdentity>;
  /** The user's profile changed: the next socket fetches it again. */
  forget(userId: string): void;
  /** Drops expired profiles (the gateway calls it once per heartbeat interval). */
  sweep(): void;
}

interface CachedProfile {
  user: User | undefined;
  expiresAt: number;
  pending: Promise<User> | undefined;
}

export function createSocketAuth(opts: {
  authenticator: Authenticator;
  user: UserClient;
  profileTtlMs?: number;
  now?: () => number;
}): SocketAuth {
  const ttl = opts.profileTtlMs ?? PROFILE_TTL_MS;
  const now = opts.now ?? Date.now;
  const profiles = new Map<string, CachedProfile>();

  function fetchProfile(userId: string, call: CallOptions): Promise<User> {
    const entry: CachedProfile = { user: undefined, expiresAt: 0, pending: undefined };
    entry.pending = opts.user.getProfile({}, call).then(
      ({ user }) => {
        // GetProfile answers for the token, which was just verified to be this user's.
        if (!user || user.id !== userId) throw internal();
        if (profiles.get(userId) === entry) {
          entry.user = user;
          entry.expiresAt = now() + ttl;
          entry.pending = undefined;
        }
        return user;
      },
      (err: unknown) => {
        if (profiles.get(userId) === entry) profiles.delete(userId);
        throw err;
      },
    );
    if (profiles.size >= MAX_PROFILES) profiles.clear();
    profiles.set(userId, entry);
    return entry.pending;
  }

  async function profileOf(userId: string, call: CallOptions): Promise<User> {
    const cached = profiles.get(userId);
    if (cached?.user && cached.expiresAt > now()) return cached.user;
    if (cached?.pending) {
      try {
        return await cached.pending;
      } catch {
        // That was another socket's token failing (its session may have just ended): ask with ours.
        return fetchProfile(userId, call);
      }
    }
    return fetchProfile(userId, call);
  }

  return {
    async authenticate(token, profileCall) {
      let userId: string;
      let sessionId: string;
      let expiresAt: number;
      try {
        ({ userId, sessionId, expiresAtMs: expiresAt } = await opts.authenticator.authenticateToken(token));
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        // Redis did not answer: not the client's fault, and worth trying again.
        throw appError(Code.Unavailable, "SESSIONS_UNAVAILABLE", "sessions cannot be checked right now; try again");
      }
      const user = await profileOf(userId, profileCall);
      return { userId, sessionId, expiresAt, user };
    },
    forget(userId) {
      profiles.delete(userId);
    },
    sweep() {
      const at = now();
      for (const [userId, entry] of profiles) {
        if (!entry.pending && entry.expiresAt <= at) profiles.delete(userId);
      }
    },
  };
}
