/**
 * `npm run admin -- user deactivate|reactivate` against the whole system as
 * separate processes: a deactivated user's open socket closes at once with
 * the session-ended code (4401), sign-in, refresh and code checks answer
 * ACCOUNT_DEACTIVATED (REST 403), they drop out of user search, chat-svc
 * refuses to add them or open a direct room with them, and the mail worker
 * sends them nothing; reactivating lets them sign in again. The people in a
 * room with them see it live, and a direct room with them is read-only until
 * they are reactivated. Repeating either
 * changes nothing and publishes no second event; unknown users, bad usage and
 * an unreachable database get their own exit codes.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { deactivatedPeer, type ParleyClient } from "@parley/client";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import { errorReason } from "@parley/shared/errors.js";
import { connectPostgres, type Sql } from "@parley/shared/postgres.js";
import { freePort, runScript, TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { type ChannelModel, connect } from "amqplib";
import { type RunningSystem, startSystem, waitUntil } from "./support/system.js";
import { api as callApi, otpFrom, sdkFor, signUp as signUpVia } from "./support/users.js";

const root = new URL("..", import.meta.url).pathname;
const PASSWORD = "correct horse battery";

let system: RunningSystem;
let mailDb: Sql;
let chatDb: Sql;
let amqp: ChannelModel;

before(async () => {
  system = await startSystem();
  mailDb = connectPostgres(system.databases.mail, { max: 1, appName: "admin-users-test" });
  chatDb = connectPostgres(system.databases.chat, { max: 1, appName: "admin-users-test" });
  amqp = await connect(TEST_RABBITMQ_URL);
});

after(async () => {
  await amqp?.close();
  await mailDb?.end({ timeout: 5 });
  await chatDb?.end({ timeout: 5 });
  await system?.close();
});

const api = (method: string, path: string, body?: unknown, token?: string) =>
  callApi(system, method, path, body, token);
const signUp = (username: string) => signUpVia(system, username);

/** The CLI with user-svc's database and Redis, as an operator would run it beside user-svc. */
function admin(args: string[], env: Record<string, string> = {}) {
  return runScript(root, "scripts/admin.ts", ["user", ...args], {
    DATABASE_URL: system.databases.user,
    REDIS_URL: system.env.REDIS_URL ?? "",
    REDIS_KEY_PREFIX: system.env.REDIS_KEY_PREFIX ?? "",
    ...env,
  });
}

function sdk(user: { token: string; refreshToken: string }): ParleyClient {
  return sdkFor(system, user);
}

function assertDeactivatedAnswer(res: { status: number; json: Record<string, unknown> }, what: string): void {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.json)}`);
  const error = res.json.error as { code: string; reason: string; message: string };
  assert.equal(error.code, "permission_denied", what);
  assert.equal(error.reason, "ACCOUNT_DEACTIVATED", what);
  assert.match(error.message, /deactivated/, what);
}

async function searchNames(prefix: string, token: string): Promise<string[]> {
  const res = await api("GET", `/api/users/search?prefix=${prefix}`, undefined, token);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return ((res.json.users ?? []) as { username: string }[]).map((u) => u.username);
}

async function loginCode(email: string, after: number): Promise<string> {
  const mail = await system.smtp.waitFor(
    (m) =>
      m.envelopeTo.includes(email) && /code/i.test(m.parsed.subject ?? "") && system.smtp.mails.indexOf(m) >= after,
  );
  return otpFrom(mail.parsed.text);
}

test("deactivating closes the user's socket at once, refuses every way back in, hides them; reactivating undoes it", async () => {
  const alice = await signUp("alice");
  const bob = await signUp("bob");
  const carol = await signUp("carol");
  const created = await api("POST", "/api/chats/rooms", { name: "ops", memberIds: [alice.id, carol.id] }, bob.token);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const roomId = (created.json.room as { id: string }).id;
  assert.deepEqual(await searchNames("ali", bob.token), ["alice"]);

  // A login code Alice asks for before the deactivation, to try after it.
  const mailsBefore = system.smtp.mails.length;
  assert.equal((await api("POST", "/api/users/login", { email: alice.email, password: PASSWORD })).status, 200);
  const pendingCode = await loginCode(alice.email, mailsBefore);

  const client = sdk(alice);
  try {
    await client.start();
    await waitUntil(
      () => client.getSnapshot().connection.status === "open",
      20_000,
      () => "alice's socket opens",
    );

    const run = await admin(["deactivate", "alice"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      `deactivated user ${alice.id} (alice, ${alice.email}); ended 1 session(s)\n`,
      "one session: the sign-up's (the pending login code made none)",
    );
    // The sessions ended before the command returned; the edge closes the socket on that notice, not on a timer.
    await waitUntil(
      () => client.getSnapshot().connection.status === "signed-out",
      2_000,
      () => JSON.stringify(client.getSnapshot().connection),
    );
    assert.match(client.getSnapshot().connection.lastError ?? "", /^closed 4401/);
  } finally {
    client.close();
  }

  // Her access token is refused at once by every service (each checks the session), not at its expiry.
  assert.equal((await api("GET", "/api/users/profile", undefined, alice.token)).status, 401, "user-svc");
  assert.equal((await api("GET", "/api/chats/rooms", undefined, alice.token)).status, 401, "chat-svc");
  assertDeactivatedAnswer(await api("POST", "/api/users/login", { email: alice.email, password: PASSWORD }), "login");
  assertDeactivatedAnswer(
    await api("POST", "/api/users/login", { username: "alice", password: PASSWORD }),
    "login by username",
  );
  assertDeactivatedAnswer(await api("POST", "/api/users/refresh", { refreshToken: alice.refreshToken }), "refresh");
  assertDeactivatedAnswer(
    await api("POST", "/api/users/verify-otp", { email: alice.email, otp: pendingCode }),
    "verify-otp",
  );
  // The same over Connect, as browsers call it.
  const users = createClient(UserService, createConnectTransport({ baseUrl: system.edgeUrl }));
  await assert.rejects(
    users.login({ identifier: { case: "email", value: alice.email }, password: PASSWORD }),
    (err: unknown) =>
      err instanceof ConnectError && err.code === Code.PermissionDenied && errorReason(err) === "ACCOUNT_DEACTIVATED",
  );
  // A wrong password still tells nothing about the account.
  const wrong = await api("POST", "/api/users/login", { email: alice.email, password: "not her password" });
  assert.equal(wrong.status, 401);
  assert.equal((wrong.json.error as { reason: string }).reason, "INVALID_CREDENTIALS");

  // Registering her email again is answered as ever, but she is not mailed about it.
  const again = await api("POST", "/api/users/register", {
    email: alice.email,
    username: "alice_again",
    password: "another horse battery",
  });
  assert.equal(again.status, 201, JSON.stringify(again.json));
  const marker = await signUp("marker_one");
  await system.smtp.waitFor((m) => m.envelopeTo.includes(marker.email) && /welcome/i.test(m.parsed.subject ?? ""));
  assert.deepEqual(
    system.smtp.mails.filter(
      (m) => m.envelopeTo.includes(alice.email) && /tried to register/.test(m.parsed.subject ?? ""),
    ),
    [],
  );

  assert.deepEqual(await searchNames("ali", bob.token), [], "out of user search");
  const profile = await api("GET", `/api/users/${alice.id}`, undefined, bob.token);
  assert.equal(profile.status, 200);
  assert.equal((profile.json.user as { deactivated?: boolean }).deactivated, true);

  // chat-svc hears of it through its queue: no direct room, no new room with her.
  const chatSays = async () => (await chatDb`select deactivated from known_users where user_id = ${alice.id}`)[0];
  await waitUntil(
    async () => (await chatSays())?.deactivated === true,
    20_000,
    () => "chat-svc applies user.deactivated",
  );
  const direct = await api("POST", "/api/chats/direct", { userId: alice.id }, bob.token);
  assert.equal(direct.status, 400, JSON.stringify(direct.json));
  assert.equal((direct.json.error as { reason: string }).reason, "USER_DEACTIVATED");
  const invite = await api("POST", "/api/chats/rooms", { name: "later", memberIds: [alice.id] }, bob.token);
  assert.equal(invite.status, 400, JSON.stringify(invite.json));
  assert.equal((invite.json.error as { reason: string }).reason, "USER_DEACTIVATED");
  // She stays a member of the rooms she was in, and what she said stays.
  const room = await api("GET", `/api/chats/rooms/${roomId}`, undefined, bob.token);
  const members = (room.json.room as { members: { userId: string; deactivated: boolean }[] }).members ?? [];
  assert.deepEqual(
    members.filter((m) => m.deactivated).map((m) => m.userId),
    [alice.id],
    JSON.stringify(members),
  );
  const shown = await runScript(root, "scripts/admin.ts", ["room", roomId], { DATABASE_URL: system.databases.chat });
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(
    shown.stdout.split("\n").filter((line) => line.endsWith("deactivated")),
    [shown.stdout.split("\n").find((line) => line.includes(alice.id))],
    shown.stdout,
  );

  // The mail worker mails her nothing: once it has applied the event, a message carol is mailed about skips her.
  await waitUntil(
    async () => (await mailDb`select deactivated from recipients where user_id = ${alice.id}`)[0]?.deactivated === true,
    20_000,
    () => "the mail worker applies user.deactivated",
  );
  const sent = await api("POST", "/api/chats/messages", { roomId, message: "status report" }, bob.token);
  assert.equal(sent.status, 201, JSON.stringify(sent.json));
  await system.smtp.waitFor((m) => m.envelopeTo.includes(carol.email) && /ops/.test(m.parsed.subject ?? ""));
  assert.deepEqual(
    system.smtp.mails.filter((m) => m.envelopeTo.includes(alice.email) && /ops/.test(m.parsed.subject ?? "")),
    [],
  );

  const back = await admin(["reactivate", alice.email.toUpperCase()]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(back.stdout, `reactivated user ${alice.id} (alice, ${alice.email})\n`);
  const mailsAfter = system.smtp.mails.length;
  assert.equal((await api("POST", "/api/users/login", { email: alice.email, password: PASSWORD })).status, 200);
  const verified = await api("POST", "/api/users/verify-otp", {
    email: alice.email,
    otp: await loginCode(alice.email, mailsAfter),
  });
  assert.equal(verified.status, 200, JSON.stringify(verified.json));
  assert.equal((await api("GET", "/api/users/profile", undefined, verified.json.accessToken as string)).status, 200);
  // The refresh token of the session the deactivation ended stays ended.
  const stale = await api("POST", "/api/users/refresh", { refreshToken: alice.refreshToken });
  assert.equal(stale.status, 401, JSON.stringify(stale.json));
  assert.deepEqual(await searchNames("ali", bob.token), ["alice"]);
  await waitUntil(
    async () => (await chatSays())?.deactivated === false,
    20_000,
    () => "chat-svc applies user.reactivated",
  );
  const reopened = await api("POST", "/api/chats/direct", { userId: alice.id }, bob.token);
  assert.equal(reopened.status, 201, JSON.stringify(reopened.json));
});

test("the other person in a direct room sees the deactivation live and cannot write there until the reactivation", async () => {
  const erin = await signUp("erin");
  const frank = await signUp("frank");
  const opened = await api("POST", "/api/chats/direct", { userId: erin.id }, frank.token);
  assert.equal(opened.status, 201, JSON.stringify(opened.json));
  const dm = (opened.json.room as { id: string }).id;

  const client = sdk(frank);
  try {
    await client.start();
    await client.loadTimeline(dm);
    const room = () => client.getSnapshot().roomsById.get(dm);
    await waitUntil(
      () => room()?.status === "live",
      20_000,
      () => `frank follows the direct room: ${room()?.status}`,
    );
    const before = room();
    assert.ok(before);
    assert.equal(deactivatedPeer(before, frank.id), undefined);

    assert.equal((await admin(["deactivate", "erin"])).code, 0);
    // A member_changed event on the open socket, not a fetch: frank's client asks for nothing.
    await waitUntil(
      () => {
        const now = room();
        return !!now && deactivatedPeer(now, frank.id)?.userId === erin.id;
      },
      20_000,
      () => JSON.stringify(room()?.room?.members.map((m) => [m.userId, m.deactivated])),
    );
    assert.equal(room()?.eventSeq, before.eventSeq + 1n, "one event, in order");

    const pending = await client.send(dm, "are you there?");
    await waitUntil(
      () => room()?.pending.find((p) => p.clientMessageId === pending.clientMessageId)?.status === "failed",
      20_000,
      () => JSON.stringify(room()?.pending.map((p) => p.status)),
    );
    const failed = room()?.pending.find((p) => p.clientMessageId === pending.clientMessageId);
    assert.equal(failed?.failure?.code, "failed_precondition");
    assert.equal(failed?.failure?.reason, "USER_DEACTIVATED");
    assert.match(failed?.failure?.message ?? "", /read-only/);

    assert.equal((await admin(["reactivate", "erin"])).code, 0);
    await waitUntil(
      () => {
        const now = room();
        return !!now && now.room?.members.find((m) => m.userId === erin.id)?.deactivated === false;
      },
      20_000,
      () => "frank sees the reactivation",
    );
    // The same send, tried again, goes through now.
    await client.retrySend(pending.clientMessageId);
    await waitUntil(
      () => room()?.messages.some((m) => m.text === "are you there?") === true && room()?.pending.length === 0,
      20_000,
      () => JSON.stringify(room()?.pending.map((p) => p.status)),
    );
  } finally {
    client.close();
  }
});

test("deactivating or reactivating twice changes nothing the second time and publishes one event each", async () => {
  const dave = await signUp("dave");
  const ch = await amqp.createChannel();
  const { queue } = await ch.assertQueue("", { exclusive: true });
  const exchange = `${system.env.AMQP_NAMESPACE}.events`;
  for (const key of ["user.deactivated", "user.reactivated"]) await ch.bindQueue(queue, exchange, key);
  const seen: string[] = [];
  await ch.consume(queue, (msg) => {
    if (msg) seen.push(msg.fields.routingKey);
  });
  try {
    const first = await admin(["deactivate", dave.id]);
    assert.equal(first.code, 0, first.stderr);
    const second = await admin(["deactivate", dave.id.toUpperCase()]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, `user ${dave.id} (dave, ${dave.email}) was already deactivated; ended 0 session(s)\n`);
    assertDeactivatedAnswer(
      await api("POST", "/api/users/login", { email: dave.email, password: PASSWORD }),
      "login after the second deactivation",
    );

    assert.equal((await admin(["reactivate", "dave"])).code, 0);
    const again = await admin(["reactivate", "dave"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `user ${dave.id} (dave, ${dave.email}) was not deactivated; nothing changed\n`);
    // The relay publishes in outbox order: a second deactivation would have come before the reactivation.
    await waitUntil(
      () => seen.includes("user.reactivated"),
      20_000,
      () => JSON.stringify(seen),
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(seen, ["user.deactivated", "user.reactivated"]);
  } finally {
    await ch.close();
  }
});

describe("exit codes", () => {
  test("an unknown user is 3 and named", async () => {
    for (const who of ["nobody_here", "nobody@example.test", "00000000-0000-4000-8000-000000000000"]) {
      const run = await admin(["deactivate", who]);
      assert.equal(run.code, 3, `${who}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, new RegExp(`no user "${who}"`));
    }
    assert.equal((await admin(["reactivate", "nobody_here"])).code, 3);
  });

  test("bad usage is 2 with the usage text", async () => {
    for (const args of [[], ["deactivate"], ["suspend", "alice"], ["deactivate", "alice", "extra"]]) {
      const run = await admin(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /usage: npm run admin -- .*\n[\s\S]*user <deactivate\|reactivate>/);
    }
  });

  test("an unreachable database is 1 and names DATABASE_URL", async () => {
    const run = await admin(["deactivate", "alice"], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/parley_user`,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /DATABASE_URL/);
  });
});
