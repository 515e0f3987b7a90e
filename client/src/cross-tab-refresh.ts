/**
 * A refresh whose credential every tab of the origin shares: the web app's
 * httpOnly cookie, which user-svc rotates on each use and, when a rotated one
 * comes back, takes for a stolen copy and ends the session. Two tabs
 * refreshing at once would both send the cookie they have, and the second
 * one's has been rotated by the time it arrives.
 *
 * So in browsers the refresh runs under a Web Lock: one tab at a time, each
 * starting its request only after the previous one's answer (and its new
 * cookie) is in, so it sends the current cookie. A grant another tab got
 * while this one waited for the lock (told over a BroadcastChannel) is taken
 * as it is: same session, one rotation fewer. Where there are no Web Locks
 * (Node, where each process keeps its own JSON refresh token), the strategy
 * runs as it is.
 */
import type { TokenGrant } from "./auth.js";

/** What this needs of the Web Locks API (declared here: the SDK type-checks without the DOM library). */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
}

interface Shared<G> {
  grant: G;
  /** When the grant was received (ms since the epoch; every tab shares the clock). */
  at: number;
}

export interface CrossTabRefreshOptions {
  /** Names the lock and the channel; one per credential (e.g. per cookie). */
  name: string;
  /** Defaults to `navigator.locks`; without one, the strategy is returned unchanged. */
  locks?: LockManagerLike | undefined;
  /** Defaults to a BroadcastChannel named `name`, where there is one. */
  channel?: ChannelLike | undefined;
}

export function refreshAcrossTabs<G extends TokenGrant>(
  strategy: () => Promise<G>,
  options: CrossTabRefreshOptions,
): () => Promise<G> {
  // Read through our own narrow types: the DOM's (or Node's) are not in scope, or differ.
  const web = globalThis as unknown as {
    navigator?: { locks?: LockManagerLike };
    BroadcastChannel?: new (name: string) => ChannelLike;
  };
  const locks = options.locks ?? web.navigator?.locks;
  if (!locks) return strategy;
  const channel = options.channel ?? (web.BroadcastChannel ? new web.BroadcastChannel(options.name) : undefined);

  let heard = 0;
  let latest: Shared<G> | undefined;
  channel?.addEventListener("message", (event) => {
    latest = event.data as Shared<G>;
    heard++;
  });

  return () => {
    const heardBefore = heard;
    return locks.request(options.name, async () => {
      if (heard > heardBefore && latest) {
        const ageSeconds = Math.max(0, (Date.now() - latest.at) / 1000);
        return { ...latest.grant, expiresIn: Math.max(0, latest.grant.expiresIn - ageSeconds) };
      }
      const grant = await strategy();
      channel?.postMessage({ grant, at: Date.now() } satisfies Shared<G>);
      return grant;
    });
  };
}
