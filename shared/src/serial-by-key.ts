/**
 * Work queued under one key runs one item at a time, in the order it was
 * queued; work under different keys runs side by side. A failed item does
 * not stop the ones behind it. Only keys with work queued are held.
 */
export interface SerialByKey {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Resolves once everything queued so far has finished, whether it succeeded or not. */
  settled(): Promise<void>;
}

export function serialByKey(): SerialByKey {
  const tails = new Map<string, Promise<void>>();
  return {
    run(key, work) {
      const result = (tails.get(key) ?? Promise.resolve()).then(work);
      const tail = result.then(
        () => {},
        () => {},
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    async settled() {
      await Promise.all(tails.values());
    },
  };
}
