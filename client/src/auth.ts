/**
 * The access token and how to get a new one. One refresh is in flight at a
 * time: callers that need a token while it runs wait for its result, and a
 * caller that found its token refused refreshes only if nobody has since.
 * A token is refreshed before it expires (at 80% of its life, at most a
 * minute early), so neither calls nor the socket see it lapse.
 *
 * Where the refresh credential lives is the strategy's business: a Node or
 * API client keeps the JSON refresh token (`refreshTokenStrategy`); a browser
 * app keeps only the access token in memory and refreshes through an httpOnly
 * cookie, with a strategy that calls its cookie endpoint.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { UserService } from "@parley/proto/user/v1/user_pb.js";

export interface TokenGrant {
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/** Gets a new access token; fails with Code.Unauthenticated (or PermissionDenied, account deactivated) when the session is over. */
export type RefreshStrategy = () => Promise<TokenGrant>;

export interface AuthOptions {
  /** The token to start with, e.g. from VerifyOtp. */
  grant?: TokenGrant;
  refresh?: RefreshStrategy;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

export interface Auth {
  /** The current token, after any refresh in flight; refreshed first if it has expired. Undefined when signed out. */
  token(): Promise<string | undefined>;
  /**
   * A token newer than `stale` (the one that was refused): the result of the
   * refresh in flight, or of a new one. Rejects when the session is over.
   */
  refresh(stale?: string): Promise<string>;
  /** Starts using a token from sign-in (VerifyOtp) or elsewhere. */
  set(grant: TokenGrant): void;
  /**
   * The session is believed alive but no token is held: a page loaded
   * offline, whose refresh could not reach the server. Until a refresh
   * succeeds or is refused, `token()` refreshes instead of answering
   * undefined, so callers wait for the network rather than take the user for
   * signed out; a refused refresh then tells listeners `undefined`.
   */
  resume(): void;
  /** Forgets the token (sign-out); listeners hear `undefined`. */
  clear(): void;
  /** Called with every new token, and with undefined once signed out. */
  onChange(listener: (token: string | undefined) => void): () => void;
  /** Stops the proactive refresh timer. */
  close(): void;
}

const MAX_EARLY_MS = 60_000;
const RETRY_MS = 5_000;

export function createAuth(options: AuthOptions = {}): Auth {
  const now = options.now ?? Date.now;
  const listeners = new Set<(token: string | undefined) => void>();
  let current: string | undefined;
  let expiresAt = 0;
  let inflight: Promise<string> | undefined;
  /** Set by resume(), until a token arrives or the session is refused. */
  let resuming = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const schedule = (delayMs: number) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (closed || !options.refresh || current === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      refresh(current).catch((err: unknown) => {
        // A refused session was announced by clear(); anything else is tried again while the token lasts.
        if (current !== undefined && !isUnauthenticated(err)) schedule(RETRY_MS);
      });
    }, delayMs);
    // A Node process is not kept alive by a token about to need refreshing.
    (timer as { unref?: () => void }).unref?.();
  };

  const set = (grant: TokenGrant) => {
    const lifeMs = grant.expiresIn * 1000;
    resuming = false;
    current = grant.accessToken;
    expiresAt = now() + lifeMs;
    schedule(lifeMs - Math.min(MAX_EARLY_MS, lifeMs * 0.2));
    for (const l of listeners) l(current);
  };

  const clear = () => {
    const had = current !== undefined || resuming;
    resuming = false;
    current = undefined;
    expiresAt = 0;
    schedule(0);
    if (had) for (const l of listeners) l(undefined);
  };

  const refresh = (stale?: string): Promise<string> => {
    if (inflight) return inflight;
    if (current !== undefined && stale !== undefined && current !== stale) return Promise.resolve(current);
    const strategy = options.refresh;
    if (!strategy) return Promise.reject(new ConnectError("no way to refresh the access token", Code.Unauthenticated));
    inflight = strategy()
      .then((grant) => {
        set(grant);
        return grant.accessToken;
      })
      .catch((err: unknown) => {
        if (isUnauthenticated(err)) clear();
        throw err;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  if (options.grant) set(options.grant);

  return {
    async token() {
      if (inflight) await inflight.catch(() => undefined);
      if (current !== undefined && now() >= expiresAt && options.refresh) return refresh(current);
      if (current === undefined && resuming) return refresh();
      return current;
    },
    refresh,
    set,
    resume() {
      if (current === undefined) resuming = true;
    },
    clear,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      schedule(0);
    },
  };
}

/**
 * The session is over and only signing in again can help: the token or
 * refresh was refused (unauthenticated), or the account may not sign in at
 * all (permission denied: ACCOUNT_DEACTIVATED), which no retry changes.
 */
export function isUnauthenticated(err: unknown): boolean {
  return err instanceof ConnectError && (err.code === Code.Unauthenticated || err.code === Code.PermissionDenied);
}

/** Where a JSON refresh token is kept between refreshes (it rotates on every use). */
export interface RefreshTokenStore {
  get(): string | undefined | Promise<string | undefined>;
  set(refreshToken: string): void | Promise<void>;
}

export function memoryRefreshTokenStore(initial?: string): RefreshTokenStore {
  let token = initial;
  return {
    get: () => token,
    set(next) {
      token = next;
    },
  };
}

/** Refreshes with the JSON refresh token over UserService.RefreshToken, keeping the rotated one. */
export function refreshTokenStrategy(options: {
  baseUrl: string;
  store: RefreshTokenStore;
  fetch?: typeof globalThis.fetch;
}): RefreshStrategy {
  // Its own transport: the refresh call must not wait behind the refresh it is.
  const users = createClient(
    UserService,
    createConnectTransport({ baseUrl: options.baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) }),
  );
  return async () => {
    const refreshToken = await options.store.get();
    if (!refreshToken) throw new ConnectError("no refresh token", Code.Unauthenticated);
    const answer = await users.refreshToken({ refreshToken });
    await options.store.set(answer.refreshToken);
    return { accessToken: answer.accessToken, expiresIn: answer.expiresIn };
  };
}
