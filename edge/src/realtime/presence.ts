/**
 * Tells chat-svc which sockets are open (SetPresence, with the edge's service
 * token): each authenticated socket when it opens and closes, and all open
 * ones again every `intervalMs`, because chat-svc forgets sockets that are not
 * re-announced (an edge that crashed never says goodbye). Calls for one socket
 * are made in order, so a quick open/close never arrives as close/open.
 */
import type { Logger } from "@parley/shared/logger.js";
import type { ChatClient } from "../clients.js";
import { bearer } from "../forwarding.js";
import type { ServiceTokenSource } from "../service-token.js";

export interface PresenceReporter {
  opened(socketId: string, userId: string): void;
  closed(socketId: string): void;
  /** Reports every open socket offline (the edge is stopping) and stops. */
  close(): Promise<void>;
}

export function startPresenceReporter(opts: {
  chat: ChatClient;
  serviceToken: ServiceTokenSource;
  logger: Logger;
  intervalMs?: number;
}): PresenceReporter {
  const { chat, logger } = opts;
  const open = new Map<string, string>();
  const chains = new Map<string, Promise<void>>();

  function report(socketId: string, userId: string, online: boolean): Promise<void> {
    const call = async () => {
      try {
        const token = await opts.serviceToken.get();
        await chat.setPresence(
          { userId, socketId, online },
          { headers: { authorization: bearer(token) }, timeoutMs: 5_000 },
        );
      } catch (err) {
        // Presence is advisory; the next announcement (or chat-svc's expiry) corrects it.
        logger.debug({ err: err instanceof Error ? err.message : String(err), online }, "could not report presence");
      }
    };
    const next = (chains.get(socketId) ?? Promise.resolve()).then(call);
    chains.set(socketId, next);
    void next.then(() => {
      if (chains.get(socketId) === next) chains.delete(socketId);
    });
    return next;
  }

  const timer = setInterval(() => {
    for (const [socketId, userId] of open) {
      // Skipped while a call for the socket is still under way; the next tick catches it.
      if (!chains.has(socketId)) void report(socketId, userId, true);
    }
  }, opts.intervalMs ?? 30_000);
  timer.unref();

  return {
    opened(socketId, userId) {
      open.set(socketId, userId);
      void report(socketId, userId, true);
    },
    closed(socketId) {
      const userId = open.get(socketId);
      if (userId === undefined) return;
      open.delete(socketId);
      void report(socketId, userId, false);
    },
    async close() {
      clearInterval(timer);
      for (const [socketId, userId] of open) void report(socketId, userId, false);
      open.clear();
      await Promise.all(chains.values());
    },
  };
}
