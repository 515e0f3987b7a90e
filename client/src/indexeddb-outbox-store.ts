/**
 * The outbox in IndexedDB, so what a user sent offline is still sent after a
 * page reload. One database per signed-in user (name it after the user):
 * another account signing in on the same browser never sends someone else's
 * messages. Tabs of one user sharing the database may both send a pending
 * message; the shared clientMessageId makes the server store it once.
 *
 * Written against IndexedDB itself rather than a wrapper library: four
 * requests do not justify a dependency. The few types it needs are declared
 * here so the SDK type-checks without the DOM library.
 */
import type { OutboxStore, StoredSend } from "./outbox-store.js";

interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbObjectStore {
  put(value: StoredSend): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
  getAll(): IdbRequest<StoredSend[]>;
}
interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  error: unknown;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options: { keyPath: string }): unknown;
  transaction(store: string, mode: "readonly" | "readwrite"): IdbTransaction;
}
export interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

const STORE = "sends";

export function createIndexedDbOutboxStore(options: {
  /** e.g. `parley-outbox-${userId}`. */
  name: string;
  /** Defaults to the global `indexedDB`. */
  indexedDB?: IdbFactory;
}): OutboxStore {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!factory) throw new Error("IndexedDB is not available here; use createMemoryOutboxStore()");
  const db = new Promise<IdbDatabase>((resolve, reject) => {
    const req = factory.open(options.name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE))
        req.result.createObjectStore(STORE, { keyPath: "clientMessageId" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

  /** Runs one request in its own transaction and resolves once the transaction has committed. */
  const run = async <T>(mode: "readonly" | "readwrite", op: (store: IdbObjectStore) => IdbRequest<T>): Promise<T> => {
    const tx = (await db).transaction(STORE, mode);
    const req = op(tx.objectStore(STORE));
    return new Promise<T>((resolve, reject) => {
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error ?? req.error);
    });
  };

  return {
    load: () => run("readonly", (s) => s.getAll()),
    put: async (send) => {
      await run("readwrite", (s) => s.put(send));
    },
    delete: async (clientMessageId) => {
      await run("readwrite", (s) => s.delete(clientMessageId));
    },
  };
}
