/**
 * `npm run admin -- sessions end <user id>` against a real user-svc: every
 * session of the user ends (access and refresh tokens refused), the
 * SessionsEnded notice the edges close sockets on is published, and other
 * users are untouched.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { SessionsEndedSchema } from "@parley/proto/user/v1/user_pb.js";
import { sessionsEndedChannel } from "@parley/shared/sessions.js";
import { TEST_REDIS_URL } from "@parley/shared/testing.js";
import { Redis } from "ioredis";
import { bearer, type Harness, rejectsWith, startHarness } from "./harness.js";

const root = new URL("../..", import.meta.url).pathname;
let h: Harness;
let subscriber: Redis;
before(async () => {
  h = await startHarness();
  subscriber = new Redis(TEST_REDIS_URL);
});
after(async () => {
  subscriber?.disconnect();
  await h?.close();
});

test("sessions end ends every session of the user and announces it to the edges", async () => {
  const target = await h.signUp("vera");
  await h.client.login({ identifier: { case: "email", value: target.email }, password: target.password });
  const second = await h.client.verifyOtp({ email: target.email, otp: (await h.takeOtp(target.email)).otp });
  const other = await h.signUp("walt");

  const notices: { userId: string; sessionIds: number }[] = [];
  await subscriber.subscribe(sessionsEndedChannel(h.config.REDIS_KEY_PREFIX));
  subscriber.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
    const n = fromBinary(SessionsEndedSchema, message);
    notices.push({ userId: n.userId, sessionIds: n.sessionIds.length });
  });

  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "scripts/admin.ts", "sessions", "end", target.userId],
    {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: h.config.REDIS_KEY_PREFIX },
    },
  );
  assert.match(stdout, new RegExp(`ended 2 session\\(s\\) of user ${target.userId}`));
  for (const token of [target.accessToken, second.accessToken]) {
    await assert.rejects(
      h.client.getProfile({}, bearer(token)),
      (e: { code?: Code }) => e.code === Code.Unauthenticated,
    );
  }
  await rejectsWith(
    h.client.refreshToken({ refreshToken: target.refreshToken }),
    Code.Unauthenticated,
    "REFRESH_TOKEN_INVALID",
  );
  await h.client.getProfile({}, bearer(other.accessToken));
  for (let i = 0; i < 50 && notices.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(notices, [{ userId: target.userId, sessionIds: 2 }]);
});
