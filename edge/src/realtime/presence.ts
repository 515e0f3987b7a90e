/**
 * Tells chat-svc which users have sockets on this edge (SetPresence, with the
 * edge's service token): when a user's first socket here opens and their last
 * one closes, and every present user again once every `intervalMs` (spread
 * over the interval, see timer-wheel.ts), because
 * chat-svc forgets entries that are not re-announced (an edge that crashed
 * never says goodbye). The edge is one "socket" per user towards chat-svc
 * (socket_id = this edge's id), so ten tabs cost one entry and one call, and
 * chat-svc still sees a user online while any edge has them. Calls for one
 * user are made in order, so a quick open/close never arrives as close/open.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "@parley/shared/logger.js";
import type { ChatClient } from "../clients.js";
import { bearer } from "../forwarding.js";
import type { ServiceTokenSource } from "../service-token.js";
import { startTimerWheel } from "./timer-wheel.js";

export interface PresenceReporter {
  opened(userId: string): void;
  closed(userId: string): void;
  /** Reports every present user offline (the edge is stopping) and stops. */
  close(): Promise<void>;
}

export function startPresenceReporter(opts: {
  chat: ChatClient;
  serviceToken: ServiceTokenSource;
  logger: Logger;
  intervalMs?: number;
}): PresenceReporter {
  const { chat, logger } = opts;
  const edgeId = `edge-${randomBytes(8).toString("hex")}`;
  /** userId → sockets open here. */
  const present = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();

  function report(userId: string, online: boolean): Promise<void> {
    const call = async () => {
      try {
        const token = await opts.serviceToken.get();
        await chat.setPresence(
          { userId, socketId: edgeId, online },
          { headers: { authorization: bearer(token) }, timeoutMs: 5_000 },
        );
      } catch (err) {
        // Presence is advisory; the next announcement (or chat-svc's expiry) corrects it.
        logger.debug({ err: err instanceof Error ? err.message : String(err), online }, "could not report presence");
      }
    };
    const next = (chains.get(userId) ?? Promise.resolve()).then(call);
    chains.set(userId, next);
    void next.then(() => {
      if (chains.get(userId) === next) chains.delete(userId);
    });
    return next;
  }

  // Spread over the interval: a refresh round at once is a burst of one call per user.
  const refresh = startTimerWheel<string>(opts.intervalMs ?? 30_000, (slot) => {
    for (const userId of slot) {
      // Skipped while a call for the user is still under way; the next round catches it.
      if (!chains.has(userId)) void report(userId, true);
    }
  });

  return {
    opened(userId) {
      const count = present.get(userId) ?? 0;
      present.set(userId, count + 1);
      if (count === 0) {
        refresh.add(userId);
        void report(userId, true);
      }
    },
    closed(userId) {
      const count = present.get(userId);
      if (count === undefined) return;
      if (count > 1) {
        present.set(userId, count - 1);
        return;
      }
      present.delete(userId);
      refresh.delete(userId);
      void report(userId, false);
    },
    async close() {
      refresh.stop();
      for (const userId of present.keys()) void report(userId, false);
      present.clear();
      await Promise.all(chains.values());
    },
  };
}
