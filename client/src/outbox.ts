/**
 * Sends that the server has not confirmed yet. Each gets a clientMessageId
 * when the user sends it and is stored before it goes out, so a reconnect or
 * a page reload sends it again with the same id, and the server (which keeps
 * one message per sender, room and clientMessageId) stores it once.
 *
 * Within a room one send is in flight at a time, in the order they were made,
 * so a retried send can never land behind a later one. A send lost with the
 * connection waits for the next one; one answered `unavailable` (or any error
 * that may pass) is retried with backoff; `resource_exhausted` waits out the
 * rate window it names; a permanent refusal marks it failed for the app to show, to
 * retry or to discard.
 */
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import { type BackoffOptions, createBackoff } from "./backoff.js";
import { type ParleyError, sendVerdict, toParleyError } from "./errors.js";
import type { OutboxStore, StoredSend } from "./outbox-store.js";

export type PendingStatus = "queued" | "sending" | "failed";

export interface PendingSend extends Readonly<StoredSend> {
  readonly status: PendingStatus;
}

export interface OutboxOptions {
  store: OutboxStore;
  /** Sends one message; resolves with the stored message, rejects with a ParleyError. */
  transmit(send: StoredSend): Promise<Message>;
  /** Whether transmitting can be tried now (the socket is open). */
  canSend(): boolean;
  /** The server has the message (its answer to our send). */
  delivered(send: StoredSend, message: Message): void;
  onChange(pending: readonly PendingSend[]): void;
  backoff?: BackoffOptions;
}

export interface Outbox {
  /** Reads what an earlier session (or page) left unsent. */
  load(): Promise<void>;
  add(send: { roomId: string; text: string; parentId?: string | undefined }): Promise<PendingSend>;
  /** The server has it, seen otherwise than in our answer (an event, a fetch): stop sending it. */
  settle(clientMessageId: string): void;
  /** Queues a failed send again, behind what is queued now. */
  retry(clientMessageId: string): Promise<void>;
  discard(clientMessageId: string): Promise<void>;
  /** Sends what waits; call when the socket (re)opens. */
  kick(): void;
  pending(): readonly PendingSend[];
  close(): void;
}

/** A rate-limited send waits as long as the refusal says (retryAfterSeconds), or this when it says nothing. */
const RATE_WINDOW_MS = 1_000;

function rateWait(error: ParleyError): number {
  return error.retryAfterSeconds > 0 ? error.retryAfterSeconds * 1000 : RATE_WINDOW_MS;
}

export function newClientMessageId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { store } = options;
  let sends: PendingSend[] = [];
  let nextOrder = 1;
  let closed = false;
  const backoff = createBackoff(options.backoff);
  /** Rooms waiting out a retry delay. */
  const waiting = new Map<string, ReturnType<typeof setTimeout>>();

  const publish = (next: PendingSend[]) => {
    sends = next;
    options.onChange(sends);
  };
  const update = (id: string, change: Partial<PendingSend>) =>
    publish(sends.map((s) => (s.clientMessageId === id ? { ...s, ...change } : s)));
  const remove = (id: string) => {
    if (sends.some((s) => s.clientMessageId === id)) publish(sends.filter((s) => s.clientMessageId !== id));
  };
  const stored = ({ status: _, ...send }: PendingSend): StoredSend => send;
  // A store that fails to write leaves the send in memory: only a reload could lose it, and there is
  // nothing better to do than carry on sending.
  const persistFailure = () => {};

  const waitThenDrive = (roomId: string, ms: number) => {
    if (waiting.has(roomId) || closed) return;
    // Timers run on a clock that can be a millisecond behind the wall clock the server's rate window
    // uses, so one may fire just before the wait is over: it then waits out the rest.
    const due = Date.now() + ms;
    const arm = (delay: number) =>
      waiting.set(
        roomId,
        setTimeout(() => {
          const left = due - Date.now();
          if (left > 0) return arm(left);
          waiting.delete(roomId);
          drive();
        }, delay),
      );
    arm(ms);
  };

  const attempt = async (send: PendingSend) => {
    update(send.clientMessageId, { status: "sending" });
    let message: Message;
    try {
      message = await options.transmit(stored(send));
    } catch (err) {
      const error: ParleyError = toParleyError(err);
      if (!sends.some((s) => s.clientMessageId === send.clientMessageId)) return drive();
      const verdict = sendVerdict(error);
      if (verdict === "fail") {
        const failure = { code: error.code, message: error.message, reason: error.reason };
        update(send.clientMessageId, { status: "failed", failure });
        store.put({ ...stored(send), failure }).catch(persistFailure);
      } else {
        update(send.clientMessageId, { status: "queued" });
        const lost = error.reason === "CONNECTION_LOST" || error.reason === "NOT_CONNECTED";
        // A lost connection is retried when the next one opens (kick); the others after a pause.
        if (!lost) waitThenDrive(send.roomId, verdict === "wait" ? rateWait(error) : backoff.next());
      }
      return drive();
    }
    backoff.reset();
    remove(send.clientMessageId);
    options.delivered(stored(send), message);
    store.delete(send.clientMessageId).catch(persistFailure);
    drive();
  };

  function drive(): void {
    if (closed || !options.canSend()) return;
    const busy = new Set<string>();
    for (const s of sends) {
      if (s.status === "failed" || busy.has(s.roomId)) continue;
      busy.add(s.roomId);
      if (s.status === "queued" && !waiting.has(s.roomId)) void attempt(s);
    }
  }

  const sorted = (list: PendingSend[]) => [...list].sort((a, b) => a.order - b.order);

  return {
    async load() {
      const loaded = await store.load();
      const known = new Set(sends.map((s) => s.clientMessageId));
      const fresh = loaded
        .filter((s) => !known.has(s.clientMessageId))
        .map((s): PendingSend => ({ ...s, status: s.failure ? "failed" : "queued" }));
      nextOrder = Math.max(nextOrder, ...loaded.map((s) => s.order + 1));
      publish(sorted([...sends, ...fresh]));
      drive();
    },
    async add({ roomId, text, parentId }) {
      const send: PendingSend = {
        clientMessageId: newClientMessageId(),
        roomId,
        text,
        parentId,
        createdAt: Date.now(),
        order: nextOrder++,
        status: "queued",
      };
      await store.put(stored(send));
      publish([...sends, send]);
      drive();
      return send;
    },
    settle(clientMessageId) {
      if (!sends.some((s) => s.clientMessageId === clientMessageId)) return;
      remove(clientMessageId);
      store.delete(clientMessageId).catch(persistFailure);
      drive();
    },
    async retry(clientMessageId) {
      const send = sends.find((s) => s.clientMessageId === clientMessageId);
      if (send?.status !== "failed") return;
      const again: PendingSend = { ...send, failure: undefined, order: nextOrder++, status: "queued" };
      await store.put(stored(again));
      publish(sorted([...sends.filter((s) => s.clientMessageId !== clientMessageId), again]));
      drive();
    },
    async discard(clientMessageId) {
      remove(clientMessageId);
      await store.delete(clientMessageId);
    },
    kick: drive,
    pending: () => sends,
    close() {
      closed = true;
      for (const t of waiting.values()) clearTimeout(t);
      waiting.clear();
    },
  };
}
