/**
 * How fast a socket may send the frames that cost the edge or a service
 * something, one token bucket per kind of cost (send-limiter.ts):
 * - `acting`: frames that make chat-svc act (send, edit, delete, react,
 *   unreact, typing, markRead);
 * - `subscribe`: each costs a room head and maybe a page of the log, so it
 *   cannot be free, but a reconnecting client resubscribes every room it had
 *   (up to MAX_SUBSCRIPTIONS) at once;
 * - `authenticate`: each costs a session lookup in Redis (and maybe a
 *   profile), while a client needs one only now and then, to swap in a
 *   refreshed token.
 * A frame over its bucket is refused; refusals are strikes, and a client
 * that keeps at it is flooding (the connection closes it).
 *
 * Created on a socket's first paced frame, each bucket on its first use.
 */
import { appError, Code, type ConnectError } from "@parley/shared/errors.js";
import { SendLimiter, type SendRate } from "./send-limiter.js";
import { MAX_SUBSCRIPTIONS } from "./socket-subscriptions.js";

export type Bucket = "acting" | "subscribe" | "authenticate";

export type PaceRates = Readonly<Record<Bucket, SendRate>>;

export const SUBSCRIBE_RATE: SendRate = { rate: 20, burst: MAX_SUBSCRIPTIONS + 50 };

const NOUNS: Readonly<Record<Bucket, string>> = {
  acting: "frames",
  subscribe: "subscribes",
  authenticate: "authenticate frames",
};

export class FramePacing {
  private readonly limiters: Partial<Record<Bucket, SendLimiter>> = {};

  constructor(private readonly rates: PaceRates) {}

  /** Takes a token from `bucket` at `now` (monotonic milliseconds). */
  take(bucket: Bucket, now: number): "ok" | "limited" | "flood" {
    return this.limiter(bucket, now).take(now);
  }

  /** Counts a frame refused for another reason (a full queue) against the acting bucket. */
  strike(now: number): "limited" | "flood" {
    return this.limiter("acting", now).strike(now);
  }

  private limiter(bucket: Bucket, now: number): SendLimiter {
    let limiter = this.limiters[bucket];
    if (!limiter) {
      limiter = new SendLimiter(this.rates[bucket], now);
      this.limiters[bucket] = limiter;
    }
    return limiter;
  }
}

/** The answer to a frame over its bucket; retry after one token's time. */
export function rateLimited(bucket: Bucket, { rate, burst }: SendRate): ConnectError {
  const noun = NOUNS[bucket];
  // Rounded to the millisecond: 1 / (1 / 7) is not quite 7.
  const seconds = Math.round(1000 / rate) / 1000;
  const pace = rate >= 1 ? `at most ${rate} ${noun} per second` : `${noun} at most once every ${seconds} s`;
  return appError(Code.ResourceExhausted, "RATE_LIMITED", `${pace} (bursts of ${burst})`, {
    retryAfterSeconds: String(Math.max(1, Math.ceil(seconds))),
  });
}

export function flooding(): ConnectError {
  return appError(Code.ResourceExhausted, "FLOODING", "too many frames, too fast; the connection is closed");
}
