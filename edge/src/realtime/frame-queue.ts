/**
 * A socket's frames are handled one at a time, in arrival order, so replies
 * and subscriptions never race. The queue is bounded: a client that piles up
 * frames faster than they are answered is refused, not buffered for.
 */

export class FrameQueue {
  private tail: Promise<void> | undefined;
  private length = 0;

  constructor(private readonly max: number) {}

  /**
   * Runs `task` once those queued before it have settled (it may decline to
   * start anything), and `failed` with what it throws; false, and nothing
   * queued, when `max` are waiting.
   */
  push(task: () => Promise<void> | undefined, failed: (err: unknown) => void): boolean {
    if (this.length >= this.max) return false;
    this.length++;
    const next: Promise<void> = (this.tail ?? Promise.resolve())
      .then(task)
      .catch(failed)
      .finally(() => {
        this.length--;
        // An idle socket holds no promise.
        if (this.tail === next) this.tail = undefined;
      });
    this.tail = next;
    return true;
  }
}
