/**
 * The turn-taking logic with an in-process lock manager and channel standing
 * in for the browser's (Node has neither); test/browser/web-app-tabs.test.ts
 * runs it in Chromium with two tabs against the real edge.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TokenGrant } from "./auth.js";
import { type LockManagerLike, refreshAcrossTabs } from "./cross-tab-refresh.js";

/** One lock manager for all "tabs": callbacks run one at a time, in order of request. */
function lockManager(): LockManagerLike {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback, callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

/** A broadcast channel between "tabs": a message reaches every other one, asynchronously. */
function channels() {
  const all: { deliver: (data: unknown) => void }[] = [];
  return () => {
    const listeners: ((event: { data: unknown }) => void)[] = [];
    const self = {
      deliver(data: unknown) {
        for (const l of listeners) l({ data });
      },
    };
    all.push(self);
    return {
      postMessage(data: unknown) {
        for (const other of all) if (other !== self) queueMicrotask(() => other.deliver(structuredClone(data)));
      },
      addEventListener(_type: "message", listener: (event: { data: unknown }) => void) {
        listeners.push(listener);
      },
    };
  };
}

/** A server-side refresh token that rotates and ends the session when a rotated one is sent again. */
function rotatingSession() {
  let cookie = "r0";
  const rotated = new Set<string>();
  let ended = false;
  let refreshes = 0;
  return {
    get ended() {
      return ended;
    },
    get refreshes() {
      return refreshes;
    },
    /** A tab's refresh: sends the cookie the browser has now, gets the answer a little later. */
    async refresh(): Promise<TokenGrant> {
      const sent = cookie;
      await new Promise((r) => setTimeout(r, 5));
      refreshes++;
      if (ended || rotated.has(sent)) {
        ended = true;
        throw new Error("refresh token reused: session ended");
      }
      rotated.add(sent);
      cookie = `r${refreshes}`;
      return { accessToken: `a${refreshes}`, expiresIn: 900 };
    },
  };
}

test("without turns, two tabs refreshing at once end the session (what the lock prevents)", async () => {
  const session = rotatingSession();
  const results = await Promise.allSettled([session.refresh(), session.refresh()]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected"],
  );
  assert.equal(session.ended, true);
});

test("tabs take turns: the second waits, and takes the grant the first one got", async () => {
  const session = rotatingSession();
  const locks = lockManager();
  const channel = channels();
  const tabA = refreshAcrossTabs(() => session.refresh(), { name: "r", locks, channel: channel() });
  const tabB = refreshAcrossTabs(() => session.refresh(), { name: "r", locks, channel: channel() });
  const [a, b] = await Promise.all([tabA(), tabB()]);
  assert.equal(session.ended, false);
  assert.equal(a.accessToken, "a1");
  assert.equal(b.accessToken, "a1", "the second tab took the first one's grant");
  assert.ok(b.expiresIn > 899 && b.expiresIn <= 900);
  assert.equal(session.refreshes, 1);
  // Later refreshes still work, from either tab: the session was never ended.
  assert.equal((await tabB()).accessToken, "a2");
  assert.equal((await tabA()).accessToken, "a3");
});

test("a tab that heard nothing while it waited refreshes itself, after the other, with the current cookie", async () => {
  const session = rotatingSession();
  const locks = lockManager();
  // No channel between them: each refreshes, one after the other.
  const silent = { postMessage() {}, addEventListener() {} };
  const tabA = refreshAcrossTabs(() => session.refresh(), { name: "r", locks, channel: silent });
  const tabB = refreshAcrossTabs(() => session.refresh(), { name: "r", locks, channel: silent });
  const grants = await Promise.all([tabA(), tabB(), tabA()]);
  assert.deepEqual(
    grants.map((g) => g.accessToken),
    ["a1", "a2", "a3"],
  );
  assert.equal(session.ended, false);
});

test("a failed refresh does not keep the others waiting, nor is its failure shared", async () => {
  const locks = lockManager();
  const channel = channels();
  let calls = 0;
  const tabA = refreshAcrossTabs(
    async () => {
      calls++;
      throw new Error("offline");
    },
    { name: "r", locks, channel: channel() },
  );
  const tabB = refreshAcrossTabs(
    async () => {
      calls++;
      return { accessToken: "b", expiresIn: 900 };
    },
    { name: "r", locks, channel: channel() },
  );
  const [a, b] = await Promise.allSettled([tabA(), tabB()]);
  assert.equal(a.status, "rejected");
  assert.deepEqual(b.status === "fulfilled" && b.value.accessToken, "b");
  assert.equal(calls, 2);
});

test("without Web Locks (Node) the strategy is used as it is", () => {
  const strategy = async () => ({ accessToken: "x", expiresIn: 1 });
  assert.equal(refreshAcrossTabs(strategy, { name: "r" }), strategy);
});
