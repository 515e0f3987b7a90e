/**
 * One token bucket of a socket's pacing (frame-pacing.ts says which frames
 * draw on which): `burst` tokens refilled at `rate` per second. Each refused
 * frame is also a strike; strikes drain at FLOOD_FACTOR × rate per second, so
 * they pile up only while a client keeps trying at more than
 * (1 + FLOOD_FACTOR) × the rate, and past FLOOD_STRIKES × burst the client is
 * flooding and gets disconnected.
 *
 * Created on a socket's first frame of its kind: idle sockets never carry one.
 */

export interface SendRate {
  /** Frames per second, sustained. */
  rate: number;
  /** Frames allowed at once. */
  burst: number;
}

type Verdict = "ok" | "limited" | "flood";

/** Refusals drain at this multiple of the rate: flooding is trying at more than (1 + this) × the rate. */
const FLOOD_FACTOR = 4;
/** Undrained strikes, in bursts, that make a flood. */
const FLOOD_STRIKES = 2;

export class SendLimiter {
  private tokens: number;
  private refilledAt: number;
  private strikes = 0;
  private struckAt: number;

  constructor(
    readonly limit: SendRate,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.refilledAt = now;
    this.struckAt = now;
  }

  /** Takes a token for one frame at `now` (milliseconds, monotonic). */
  take(now: number): Verdict {
    const { rate, burst } = this.limit;
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return "ok";
    }
    return this.strike(now);
  }

  /** Counts a refused frame (also one refused for another reason, such as a full queue). */
  strike(now: number): "limited" | "flood" {
    const { rate, burst } = this.limit;
    const drained = ((now - this.struckAt) / 1000) * rate * FLOOD_FACTOR;
    this.strikes = Math.max(0, this.strikes - drained) + 1;
    this.struckAt = now;
    return this.strikes > burst * FLOOD_STRIKES ? "flood" : "limited";
  }
}
