/**
 * Where pending sends are kept until the server has them. In memory for Node
 * and tests; `createIndexedDbOutboxStore` (indexeddb-outbox-store.ts) keeps
 * them across page reloads in a browser.
 */

/** A send as stored: enough to send it again with the same id, in the same order. */
export interface StoredSend {
  clientMessageId: string;
  roomId: string;
  text: string;
  parentId?: string | undefined;
  /** Position among all sends (ms since the epoch, then a counter), so the order survives a reload. */
  createdAt: number;
  order: number;
  /** Set once the server refused it for good. */
  failure?: { code: string; message: string; reason: string } | undefined;
}

export interface OutboxStore {
  load(): Promise<StoredSend[]>;
  put(send: StoredSend): Promise<void>;
  delete(clientMessageId: string): Promise<void>;
}

export function createMemoryOutboxStore(): OutboxStore {
  const sends = new Map<string, StoredSend>();
  return {
    async load() {
      return [...sends.values()].map((s) => ({ ...s }));
    },
    async put(send) {
      sends.set(send.clientMessageId, { ...send });
    },
    async delete(clientMessageId) {
      sends.delete(clientMessageId);
    },
  };
}
