/**
 * Group commit: requests are queued and handled in batches by the `write`
 * function given (chat-svc: one transaction per batch of sends; the edge:
 * one SendMessages call per batch of socket sends):
 *
 *   - a batch starts as soon as the event loop has taken in everything that
 *     arrived in the same turn (setImmediate), or after `lingerMs` when set,
 *     or at once when `maxBatch` requests are waiting;
 *   - at most `maxInFlight` batches are written at a time. While they are,
 *     new requests wait and form the next batch, so the busier the service,
 *     the larger the batches and the fewer the transactions per message.
 *
 * `write` settles every request of its batch on its own (one bad request
 * does not fail the others); if it throws, every request of the batch fails
 * with that error.
 */

export interface BatcherOptions<Req, Res> {
  write(batch: Req[]): Promise<PromiseSettledResult<Res>[]>;
  /** Most requests in one batch. */
  maxBatch: number;
  /** Most batches being written at once. */
  maxInFlight: number;
  /** How long a batch waits for more requests after its first; 0: only for the current event loop turn. */
  lingerMs: number;
}

export interface Batcher<Req, Res> {
  /** Settles with this request's own outcome. */
  submit(request: Req): Promise<Res>;
  /** Refuses new requests, writes those queued and waits for every batch to finish. */
  close(): Promise<void>;
  /** Requests queued and not yet in a batch (for tests and metrics). */
  readonly queued: number;
}

interface Pending<Req, Res> {
  request: Req;
  resolve(value: Res): void;
  reject(reason: unknown): void;
}

export function createBatcher<Req, Res>(opts: BatcherOptions<Req, Res>): Batcher<Req, Res> {
  const { maxBatch, maxInFlight, lingerMs } = opts;
  let queue: Pending<Req, Res>[] = [];
  let inFlight = 0;
  let timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  let closed = false;
  const running = new Set<Promise<void>>();

  function schedule(): void {
    if (timer !== undefined) return;
    const fire = () => {
      timer = undefined;
      pump();
    };
    timer = lingerMs > 0 ? setTimeout(fire, lingerMs) : setImmediate(fire);
  }

  function pump(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      inFlight++;
      const run = runBatch(batch).finally(() => {
        inFlight--;
        running.delete(run);
        // What queued meanwhile has waited long enough: write it now.
        if (queue.length > 0) pump();
      });
      running.add(run);
    }
  }

  async function runBatch(batch: Pending<Req, Res>[]): Promise<void> {
    let outcomes: PromiseSettledResult<Res>[];
    try {
      outcomes = await opts.write(batch.map((p) => p.request));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (!outcome) p.reject(new Error("the batch writer returned no outcome for a request"));
      else if (outcome.status === "fulfilled") p.resolve(outcome.value);
      else p.reject(outcome.reason);
    });
  }

  return {
    submit(request) {
      if (closed) return Promise.reject(new Error("the batcher is closed"));
      return new Promise<Res>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        if (queue.length >= maxBatch) pump();
        else schedule();
      });
    },
    async close() {
      closed = true;
      if (timer !== undefined) {
        clearTimeout(timer as NodeJS.Timeout);
        clearImmediate(timer as NodeJS.Immediate);
        timer = undefined;
      }
      pump();
      while (running.size > 0) await Promise.all(running);
    },
    get queued() {
      return queue.length;
    },
  };
}
