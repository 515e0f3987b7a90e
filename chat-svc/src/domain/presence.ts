/**
 * SetPresence: the edge reports each socket it opens (online) and closes
 * (offline), and re-announces its open sockets periodically. A user's first
 * live socket anywhere brings them online, their last one gone takes them
 * offline (storage/presence-store.ts). Each transition writes one
 * user.online domain event and publishes a presence event (ephemeral) to
 * every room the user is in.
 *
 * Entries of sockets that are not re-announced expire after `ttlMs` (an
 * edge that crashed never says goodbye); a sweep on every instance takes
 * such users offline.
 */
import type { Logger } from "@parley/shared/logger.js";
import { enqueueEvent } from "@parley/shared/outbox.js";
import { serialByKey } from "@parley/shared/serial-by-key.js";
import { invalidField } from "../errors.js";
import { ephemeralEvent, publishable } from "../room-events.js";
import { createPresenceStore, type Transition } from "../storage/presence-store.js";
import { roomIdsOf } from "../storage/rooms.js";
import type { DomainDeps } from "./deps.js";

export interface PresenceService {
  set(userId: string, socketId: string, online: boolean): Promise<void>;
  /** One sweep for expired sockets (also run periodically). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

const SWEEP_BATCH = 100;

export function startPresence(
  deps: DomainDeps,
  opts: { ttlMs: number; sweepIntervalMs: number; logger: Logger },
): PresenceService {
  const store = createPresenceStore({ redis: deps.redis, prefix: deps.keyPrefix, ttlMs: opts.ttlMs });
  // One user's transitions are handled one at a time on this instance, so
  // their events are written in the order Redis decided them.
  const transitions = serialByKey();

  async function announce(userId: string, socketId: string, transition: Exclude<Transition, null>): Promise<void> {
    const online = transition === "online";
    const roomIds = await deps.db.transaction(async (tx) => {
      await enqueueEvent(tx, "user.online", { userId, socketId, online });
      return roomIdsOf(tx, userId);
    });
    deps.events.publish(
      roomIds.map((roomId) => publishable(ephemeralEvent(roomId, { case: "presence", value: { userId, online } }))),
    );
  }

  async function sweep(): Promise<void> {
    for (;;) {
      const users = await store.expiredUsers(SWEEP_BATCH);
      for (const userId of users) {
        await transitions.run(userId, async () => {
          const transition = await store.sweep(userId);
          if (transition) await announce(userId, "", transition);
        });
      }
      if (users.length < SWEEP_BATCH) return;
    }
  }

  let sweeping: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = sweep()
      .catch((err: unknown) => opts.logger.warn({ err }, "presence sweep failed; will retry"))
      .finally(() => {
        sweeping = undefined;
      });
  }, opts.sweepIntervalMs);
  timer.unref();

  return {
    async set(userId, socketId, online) {
      if (socketId === "") throw invalidField("socket_id", "must not be empty");
      const user = userId.toLowerCase();
      await transitions.run(user, async () => {
        const transition = await store.update(user, socketId, online);
        if (transition) await announce(user, socketId, transition);
      });
    },
    sweep,
    async close() {
      clearInterval(timer);
      await sweeping;
      await transitions.settled();
    },
  };
}
