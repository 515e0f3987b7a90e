/**
 * A socket's typing frames, thinned before they reach chat-svc: a client
 * sends one per keystroke burst, the room needs to hear it about once a
 * second. Created on a socket's first typing frame.
 */

/** Typing frames for one room closer together than this are not forwarded (chat-svc throttles at 2 s anyway). */
const TYPING_FORWARD_MS = 1_000;
/** Rooms remembered at most; past it the throttle starts over (it only saves calls). */
const MAX_TYPING_ROOMS = 32;

export class TypingThrottle {
  private readonly sentAt = new Map<string, number>();

  /** Whether a typing frame for `roomId` at `now` (monotonic milliseconds) is forwarded; counts it when it is. */
  admit(roomId: string, now: number): boolean {
    const last = this.sentAt.get(roomId);
    if (last !== undefined && now - last < TYPING_FORWARD_MS) return false;
    if (this.sentAt.size >= MAX_TYPING_ROOMS) this.sentAt.clear();
    this.sentAt.set(roomId, now);
    return true;
  }
}
