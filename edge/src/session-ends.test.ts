/**
 * The reconnect check of ended sessions, against the real Redis: the
 * lookup behind it is a stand-in that fails at will, since a Redis that
 * answers the subscription but not the lookup cannot be arranged on cue.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { SessionsEndedSchema } from "@parley/proto/user/v1/user_pb.js";
import { createLogger } from "@parley/shared/logger.js";
import { connectRedis } from "@parley/shared/redis.js";
import { sessionsEndedChannel } from "@parley/shared/sessions.js";
import { randomName, TEST_REDIS_URL, waitFor } from "@parley/shared/testing.js";
import { watchSessionEnds } from "./realtime/session-ends.js";

test("a failed check of the open sockets' sessions is retried until it succeeds", async (t) => {
  const logger = createLogger("session-ends-test", "silent");
  const redis = connectRedis(TEST_REDIS_URL, logger, "session-ends-test");
  const prefix = `${randomName("se")}:`;
  const ended: string[][] = [];
  let lookups = 0;
  let failing = true;
  const watcher = watchSessionEnds({
    redis,
    prefix,
    retryMs: 50,
    logger,
    authenticator: {
      async endedSessions(ids) {
        lookups++;
        if (failing) throw new Error("lookup refused");
        return ids.filter((id) => id === "gone");
      },
    },
    gateway: {
      openSessions: () => ["kept", "gone"],
      endSessions: (ids) => {
        ended.push([...ids]);
      },
    },
  });
  t.after(async () => {
    await watcher.close();
    redis.disconnect();
  });

  // The first check runs once the subscription is confirmed, and fails; so do the retries.
  await waitFor(() => lookups >= 3 || undefined, 10_000, "three failed lookups");
  assert.deepEqual(ended, []);
  failing = false;
  await waitFor(() => ended.length > 0 || undefined, 10_000, "the retried check to close the ended session");
  assert.deepEqual(ended, [["gone"]]);

  // Retries stop after a success: nothing more is looked up.
  const settled = lookups;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(lookups, settled);

  // Notices still arrive on the same subscription.
  await redis.publish(
    sessionsEndedChannel(prefix),
    Buffer.from(toBinary(SessionsEndedSchema, create(SessionsEndedSchema, { userId: "u", sessionIds: ["kept"] }))),
  );
  await waitFor(() => ended.length > 1 || undefined, 10_000, "the notice");
  assert.deepEqual(ended, [["gone"], ["kept"]]);
});
