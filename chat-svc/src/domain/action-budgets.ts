/**
 * Per-user budgets for the actions that write and fan out to a room: sends,
 * edits (deletions count as edits), reaction changes and read markers. They
 * are counted per user in Redis (storage/budget-store.ts), so a user has one
 * budget whichever door a call came through (REST, Connect and gRPC reach
 * SendMessage and the rest; the WebSocket reaches SendMessages through the
 * edge, which also paces each socket) and whichever chat-svc instance
 * answers it. A charge over the budget fails with RATE_LIMITED and the
 * seconds to wait.
 *
 * Charges made in the same event-loop turn are taken together in one script
 * call (shared/batcher.ts): a SendMessages call's items enter in one turn,
 * so a whole batch of sends costs one Redis round trip.
 */
import { createBatcher } from "@parley/shared/batcher.js";
import { rateLimited } from "@parley/shared/errors.js";
import type { Redis } from "@parley/shared/redis.js";
import type { Config } from "../config.js";
import { type BucketTake, createBudgetStore } from "../storage/budget-store.js";

export type BudgetedAction = "send" | "edit" | "react" | "read";

export interface Budget {
  /** Actions per second, sustained. */
  rate: number;
  /** Actions allowed at once. */
  burst: number;
}

export type BudgetSettings = Readonly<Record<BudgetedAction, Budget>>;

type BudgetVariable = `USER_${"SEND" | "EDIT" | "REACT" | "READ"}_${"RATE" | "BURST"}`;

export function budgetSettings(config: Pick<Config, BudgetVariable>): BudgetSettings {
  return {
    send: { rate: config.USER_SEND_RATE, burst: config.USER_SEND_BURST },
    edit: { rate: config.USER_EDIT_RATE, burst: config.USER_EDIT_BURST },
    react: { rate: config.USER_REACT_RATE, burst: config.USER_REACT_BURST },
    read: { rate: config.USER_READ_RATE, burst: config.USER_READ_BURST },
  };
}

export interface ActionBudgets {
  /** Resolves once `userId` may do `action` once more; rejects with RATE_LIMITED when the budget is spent. */
  charge(action: BudgetedAction, userId: string): Promise<void>;
  /**
   * `charge`, settling only once `check` (work already under way for the
   * same call, such as a session lookup) has settled too: with its refusal
   * first, else the charge's. Never reported as unhandled if nobody awaits it.
   */
  chargeAlong(action: BudgetedAction, userId: string, check: Promise<void> | undefined): Promise<void>;
}

const nouns: Record<BudgetedAction, string> = {
  send: "messages",
  edit: "edits and deletions",
  react: "reaction changes",
  read: "read markers",
};

/** Charges taken together at most; more wait for the next call. */
const MAX_CHARGES_PER_CALL = 1000;
/** Script calls in flight at once; charges arriving meanwhile gather into the next. */
const MAX_CALLS_IN_FLIGHT = 4;

interface Charge {
  action: BudgetedAction;
  userId: string;
}

export function createActionBudgets(opts: { redis: Redis; prefix: string; settings: BudgetSettings }): ActionBudgets {
  const store = createBudgetStore({ redis: opts.redis, prefix: opts.prefix });
  const refusal = (action: BudgetedAction, retryAfterMs: number) => {
    const { rate, burst } = opts.settings[action];
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return rateLimited(
      seconds,
      `too many ${nouns[action]}: at most ${rate} a second (bursts of ${burst}); try again in ${seconds} s`,
    );
  };

  const batcher = createBatcher<Charge, void>({
    maxBatch: MAX_CHARGES_PER_CALL,
    maxInFlight: MAX_CALLS_IN_FLIGHT,
    lingerMs: 0,
    async write(charges) {
      // One take per bucket, wanting as many tokens as it has charges here; the earliest charges get them.
      const takes = new Map<string, BucketTake & { action: BudgetedAction; indexes: number[] }>();
      charges.forEach(({ action, userId }, index) => {
        const bucket = `${action}:${userId}`;
        const take = takes.get(bucket);
        if (take) {
          take.wanted++;
          take.indexes.push(index);
        } else {
          const { rate, burst } = opts.settings[action];
          takes.set(bucket, { bucket, ratePerSecond: rate, burst, wanted: 1, action, indexes: [index] });
        }
      });
      const grants = await store.take([...takes.values()]);
      const outcomes: PromiseSettledResult<void>[] = new Array(charges.length);
      [...takes.values()].forEach((take, i) => {
        const grant = grants[i] ?? { granted: 0, retryAfterMs: 1000 };
        take.indexes.forEach((index, n) => {
          outcomes[index] =
            n < grant.granted
              ? { status: "fulfilled", value: undefined }
              : { status: "rejected", reason: refusal(take.action, grant.retryAfterMs) };
        });
      });
      return outcomes;
    },
  });

  const charge = (action: BudgetedAction, userId: string) => batcher.submit({ action, userId });
  return {
    charge,
    chargeAlong(action, userId, check) {
      const charged = charge(action, userId);
      const both = Promise.allSettled([check, charged]).then(([checked, paid]) => {
        if (checked.status === "rejected") throw checked.reason;
        if (paid.status === "rejected") throw paid.reason;
      });
      both.catch(() => {});
      return both;
    },
  };
}
