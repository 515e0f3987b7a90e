import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createAuth } from "./auth.js";

test("one refresh in flight: callers wait for it, and a stale caller reuses a newer token", async () => {
  let calls = 0;
  let release: () => void = () => {};
  const auth = createAuth({
    grant: { accessToken: "t0", expiresIn: 900 },
    refresh: async () => {
      calls++;
      await new Promise<void>((r) => {
        release = r;
      });
      return { accessToken: `t${calls}`, expiresIn: 900 };
    },
  });
  const refreshes = [auth.refresh("t0"), auth.refresh("t0"), auth.token()];
  release();
  assert.deepEqual(await Promise.all(refreshes), ["t1", "t1", "t1"]);
  assert.equal(await auth.refresh("t0"), "t1", "refused with the old token: the new one, no second refresh");
  assert.equal(calls, 1);
  auth.close();
});

test("a refused refresh signs out: listeners hear undefined and the token is gone", async () => {
  const heard: (string | undefined)[] = [];
  const auth = createAuth({
    grant: { accessToken: "t0", expiresIn: 900 },
    refresh: async () => {
      throw new ConnectError("session ended", Code.Unauthenticated);
    },
  });
  auth.onChange((t) => heard.push(t));
  await assert.rejects(auth.refresh("t0"), (err: ConnectError) => err.code === Code.Unauthenticated);
  assert.deepEqual(heard, [undefined]);
  assert.equal(await auth.token(), undefined);
  auth.close();
});

test("an expired token is refreshed before it is handed out", async () => {
  let now = 0;
  const auth = createAuth({
    grant: { accessToken: "old", expiresIn: 60 },
    refresh: async () => ({ accessToken: "new", expiresIn: 60 }),
    now: () => now,
  });
  assert.equal(await auth.token(), "old");
  now = 61_000;
  assert.equal(await auth.token(), "new");
  auth.close();
});

test("a resumed session without a token refreshes on demand: a network failure keeps it, a refusal ends it", async () => {
  const heard: (string | undefined)[] = [];
  let online = false;
  const auth = createAuth({
    refresh: async () => {
      if (!online) throw new ConnectError("Parley cannot be reached", Code.Unavailable);
      return { accessToken: "t1", expiresIn: 900 };
    },
  });
  auth.onChange((t) => heard.push(t));
  assert.equal(await auth.token(), undefined, "not resumed: simply signed out");
  auth.resume();
  await assert.rejects(auth.token(), (err: ConnectError) => err.code === Code.Unavailable);
  await assert.rejects(auth.token(), (err: ConnectError) => err.code === Code.Unavailable);
  assert.deepEqual(heard, [], "a refresh that could not reach the server ends nothing");
  online = true;
  assert.equal(await auth.token(), "t1");
  assert.deepEqual(heard, ["t1"]);
  auth.close();

  const refused: (string | undefined)[] = [];
  const other = createAuth({
    refresh: async () => {
      throw new ConnectError("deactivated", Code.PermissionDenied);
    },
  });
  other.onChange((t) => refused.push(t));
  other.resume();
  await assert.rejects(other.token(), (err: ConnectError) => err.code === Code.PermissionDenied);
  assert.deepEqual(refused, [undefined], "the refusal is heard although no token was ever held");
  assert.equal(await other.token(), undefined, "and the resume is over");
  other.close();
});
