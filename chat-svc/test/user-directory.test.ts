/**
 * chat-svc's user directory: rooms admit only users who exist, learnt from
 * user-svc's events or, for a user the events never brought, from user-svc
 * itself; and how many users one caller may name per minute.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { RoomVisibility } from "@parley/proto/chat/v1/chat_pb.js";
import { UserDirectoryService } from "@parley/proto/directory/v1/directory_pb.js";
import { UserRegisteredSchema } from "@parley/proto/events/v1/events_pb.js";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import { randomName, TEST_RABBITMQ_URL } from "@parley/shared/testing.js";
import { connect } from "amqplib";
import { createDb } from "../src/storage/db.js";
import { recordKnownUsers } from "../src/storage/known-users.js";
import { bearer, type Harness, rejectsWith, startHarness, waitFor } from "./harness.js";

let h: Harness;
let sessions: Http2SessionManager;
before(async () => {
  h = await startHarness();
  sessions = new Http2SessionManager(h.userSvc.url);
});
after(async () => {
  sessions?.abort();
  await h?.close();
});

const userClient = () =>
  createClient(UserService, createGrpcTransport({ baseUrl: h.userSvc.url, sessionManager: sessions }));

async function knownRow(userId: string) {
  const [row] = await h.infra.sql<{ username: string; changedMs: number }[]>`
    select username, (extract(epoch from changed_at) * 1000)::float8 as "changedMs"
    from known_users where user_id = ${userId}`;
  return row;
}

describe("unknown users", () => {
  test("a direct room with someone who does not exist is not_found, and nothing is made", async () => {
    const alice = await h.signIn();
    const nobody = randomUUID();
    const err = await rejectsWith(
      h.client.openDirectRoom({ userId: nobody }, alice.call),
      Code.NotFound,
      "USER_NOT_FOUND",
    );
    assert.match(err.rawMessage, new RegExp(nobody));
    const [count] = await h.infra.sql<{ n: number }[]>`
      select count(*)::int as n from rooms where direct_key like ${`%${nobody}%`}`;
    assert.equal(count?.n, 0);
  });

  test("adding users names exactly the unknown ones, and adds nobody", async () => {
    const owner = await h.signIn();
    const bob = await h.signIn();
    const carol = await h.signIn();
    const roomId = await h.roomWith(owner, bob);
    const ghosts = [randomUUID(), randomUUID()];
    const err = await rejectsWith(
      h.client.addMembers({ roomId, userIds: [carol.userId, ...ghosts] }, owner.call),
      Code.NotFound,
      "USER_NOT_FOUND",
    );
    const [info] = err.findDetails(ErrorInfoSchema);
    assert.deepEqual(info?.metadata.userIds?.split(", ").sort(), [...ghosts].sort());
    const { room } = await h.client.getRoom({ roomId }, owner.call);
    assert.deepEqual([...(room?.memberIds ?? [])].sort(), [owner.userId, bob.userId].sort());
  });

  test("a room cannot be created with someone who does not exist", async () => {
    const owner = await h.signIn();
    const bob = await h.signIn();
    const name = randomName("ghost_room");
    await rejectsWith(
      h.client.createRoom({ name, memberIds: [bob.userId, randomUUID()] }, owner.call),
      Code.NotFound,
      "USER_NOT_FOUND",
    );
    const [count] = await h.infra.sql<{ n: number }[]>`select count(*)::int as n from rooms where name = ${name}`;
    assert.equal(count?.n, 0);
  });

  test("an account that registered but never verified is nobody yet", async () => {
    const alice = await h.signIn();
    const username = randomName("pending").slice(0, 30);
    const { userId } = await userClient().register({
      email: `${username}@example.test`,
      username,
      password: "correct horse battery",
    });
    await rejectsWith(h.client.openDirectRoom({ userId }, alice.call), Code.NotFound, "USER_NOT_FOUND");
  });
});

describe("how chat-svc learns of users", () => {
  test("a user verified through user-svc becomes known through the event queue", async () => {
    const username = randomName("verified").slice(0, 30);
    const email = `${username}@example.test`;
    const users = userClient();
    const { userId } = await users.register({ email, username, password: "correct horse battery" });
    const otp = await waitFor(
      () => h.eventsOf("user.otp.send").find((e) => e.email === email)?.otp,
      10_000,
      "the verification code",
    );
    const verified = await users.verifyOtp({ email, otp });
    // No chat-svc call names the user: only the user.registered event can bring them.
    const row = await waitFor(() => knownRow(userId), 10_000, "the user in chat-svc's directory");
    assert.equal(row.username, username);

    // user.updated moves the entry forward in time.
    await users.updateProfile({ displayName: "Verified" }, bearer(verified.accessToken));
    await waitFor(
      async () => ((await knownRow(userId))?.changedMs ?? row.changedMs) > row.changedMs || undefined,
      10_000,
      "user.updated applied",
    );

    const alice = await h.signIn();
    const { room, created } = await h.client.openDirectRoom({ userId }, alice.call);
    assert.equal(created, true);
    assert.deepEqual([...(room?.memberIds ?? [])].sort(), [alice.userId, userId].sort());
  });

  test("a user whose event never came is found through user-svc, then recorded", async () => {
    const username = randomName("old");
    const userId = await h.seedAccount(username);
    assert.equal(await knownRow(userId), undefined, "not in the directory before");
    const alice = await h.signIn();
    const { created } = await h.client.openDirectRoom({ userId }, alice.call);
    assert.equal(created, true);
    assert.equal((await knownRow(userId))?.username, username, "recorded for next time");

    // Likewise for several at once, beside users already known.
    const more = [await h.seedAccount(), await h.seedAccount()];
    const bob = await h.signIn();
    const { room } = await h.client.createRoom({ name: "old friends", memberIds: [bob.userId, ...more] }, alice.call);
    assert.deepEqual([...(room?.memberIds ?? [])].sort(), [alice.userId, bob.userId, ...more].sort());
  });

  test("an event that can never be recorded is set aside in the dead-letter queue, and the rest go on", async () => {
    const conn = await connect(TEST_RABBITMQ_URL);
    try {
      const ch = await conn.createConfirmChannel();
      const { exchange, chatUsersDeadQueue } = h.topology;
      ch.publish(exchange, "user.registered", Buffer.from([0xff, 0xff, 0xff]), { messageId: randomUUID() });
      const after = randomUUID();
      const body = toBinary(UserRegisteredSchema, create(UserRegisteredSchema, { userId: after, username: "after" }));
      ch.publish(exchange, "user.registered", Buffer.from(body), { messageId: randomUUID() });
      await ch.waitForConfirms();
      await waitFor(() => knownRow(after), 10_000, "the event after the bad one");
      const dead = await waitFor(
        async () => (await ch.get(chatUsersDeadQueue, { noAck: true })) || undefined,
        10_000,
        "the bad event dead-lettered",
      );
      assert.deepEqual([...dead.content], [0xff, 0xff, 0xff]);
    } finally {
      await conn.close();
    }
  });

  test("while user-svc cannot be asked, an id the directory lacks is unavailable, never not_found", async () => {
    const cut = await h.startInstance({ env: { USER_SVC_URL: "http://127.0.0.1:9" } });
    try {
      const alice = await h.signIn();
      const known = await h.signIn();
      await rejectsWith(
        cut.client.openDirectRoom({ userId: await h.seedAccount() }, alice.call),
        Code.Unavailable,
        "USER_DIRECTORY_UNAVAILABLE",
      );
      const { created } = await cut.client.openDirectRoom({ userId: known.userId }, alice.call);
      assert.equal(created, true, "users already known need no lookup");
    } finally {
      await cut.close();
    }
  });

  test("an older or repeated event changes nothing", async () => {
    const userId = randomUUID();
    const db = createDb(h.infra.sql);
    const at = new Date("2026-01-02T03:04:05.678Z");
    await recordKnownUsers(db, [{ userId, username: "current", changedAt: at }]);
    await recordKnownUsers(db, [{ userId, username: "stale", changedAt: new Date(at.getTime() - 1) }]);
    await recordKnownUsers(db, [{ userId, username: "current", changedAt: at }]);
    const row = await knownRow(userId);
    assert.equal(row?.username, "current");
    assert.equal(row?.changedMs, at.getTime());
  });

  test("deactivation and profile changes move on their own clocks, and a deactivated user cannot be added", async () => {
    const userId = randomUUID();
    const db = createDb(h.infra.sql);
    const t = (ms: number) => new Date(Date.UTC(2026, 0, 2) + ms);
    const deactivated = async () =>
      (await h.infra.sql<{ d: boolean }[]>`select deactivated as d from known_users where user_id = ${userId}`)[0]?.d;
    await recordKnownUsers(db, [{ userId, username: "erin", changedAt: t(0) }]);
    await recordKnownUsers(db, [
      { userId, username: "erin", changedAt: t(10), status: { deactivated: true, changedAt: t(10) } },
    ]);
    assert.equal(await deactivated(), true);
    // A profile change after the deactivation leaves it alone; an older reactivation arriving late too.
    await recordKnownUsers(db, [{ userId, username: "erin2", changedAt: t(20) }]);
    await recordKnownUsers(db, [
      { userId, username: "erin", changedAt: t(5), status: { deactivated: false, changedAt: t(5) } },
    ]);
    assert.equal(await deactivated(), true);
    assert.equal((await knownRow(userId))?.username, "erin2");

    const owner = await h.signIn();
    const roomId = await h.roomWith(owner);
    const err = await rejectsWith(
      h.client.addMembers({ roomId, userIds: [userId] }, owner.call),
      Code.FailedPrecondition,
      "USER_DEACTIVATED",
    );
    assert.match(err.rawMessage, new RegExp(userId));
    await rejectsWith(h.client.openDirectRoom({ userId }, owner.call), Code.FailedPrecondition, "USER_DEACTIVATED");

    // A reactivation that happened after the profile change (delivered after it) applies.
    await recordKnownUsers(db, [
      { userId, username: "erin2", changedAt: t(30), status: { deactivated: false, changedAt: t(30) } },
    ]);
    assert.equal(await deactivated(), false);
    await h.client.addMembers({ roomId, userIds: [userId] }, owner.call);
  });

  test("a deactivated user the copy lacks is found through user-svc as deactivated, and refused", async () => {
    const owner = await h.signIn();
    const id = await h.seedAccount();
    await h.userSvc.infra.sql`update users set deactivated_at = now(), updated_at = now() where id = ${id}`;
    await rejectsWith(h.client.openDirectRoom({ userId: id }, owner.call), Code.FailedPrecondition, "USER_DEACTIVATED");
    const [row] = await h.infra.sql<{ deactivated: boolean }[]>`
      select deactivated from known_users where user_id = ${id}`;
    assert.equal(row?.deactivated, true, "recorded from the lookup");
  });

  test("user-svc answers LookupUsers to services only", async () => {
    const alice = await h.signIn();
    const directory = createClient(
      UserDirectoryService,
      createGrpcTransport({ baseUrl: h.userSvc.url, sessionManager: sessions }),
    );
    await rejectsWith(
      directory.lookupUsers({ userIds: [alice.userId] }, alice.call),
      Code.Unauthenticated,
      "UNAUTHENTICATED",
    );
    const id = await h.seedAccount();
    const { users } = await directory.lookupUsers({ userIds: [id, randomUUID()] }, await h.serviceCall());
    assert.deepEqual(
      users.map((u) => u.id),
      [id],
    );
  });
});

describe("how many users one caller may name", () => {
  test("at most MEMBER_ADDS_PER_MINUTE a minute across calls, then resource_exhausted with a retry time", async () => {
    const owner = await h.signIn();
    const perMinute = h.config.MEMBER_ADDS_PER_MINUTE;
    const db = createDb(h.infra.sql);
    const batch = async () => {
      const ids = Array.from({ length: 100 }, () => randomUUID());
      await recordKnownUsers(
        db,
        ids.map((userId) => ({ userId, username: randomName("u"), changedAt: new Date() })),
      );
      return ids;
    };
    const roomId = await h.roomWith(owner);
    for (let named = 0; named + 100 <= perMinute; named += 100) {
      await h.client.addMembers({ roomId, userIds: await batch() }, owner.call);
    }
    const err = await rejectsWith(
      h.client.addMembers({ roomId, userIds: await batch() }, owner.call),
      Code.ResourceExhausted,
      "MEMBER_ADDS_LIMITED",
    );
    const [info] = err.findDetails(ErrorInfoSchema);
    const wait = Number(info?.metadata.retryAfterSeconds);
    assert.ok(wait >= 1 && wait <= 60, `retry after ${wait} s`);
    // Every way of naming users draws on the same budget; another caller has their own.
    await rejectsWith(
      h.client.createRoom(
        { name: "more", visibility: RoomVisibility.PRIVATE, memberIds: (await batch()).slice(0, 1) },
        owner.call,
      ),
      Code.ResourceExhausted,
      "MEMBER_ADDS_LIMITED",
    );
    const other = await h.signIn();
    await rejectsWith(
      h.client.openDirectRoom({ userId: other.userId }, owner.call),
      Code.ResourceExhausted,
      "MEMBER_ADDS_LIMITED",
    );
    const { created } = await h.client.openDirectRoom({ userId: owner.userId }, other.call);
    assert.equal(created, true);
  });
});
