import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { MemberAddPolicy, MemberRole, type Room, RoomKind, RoomVisibility } from "@parley/proto/chat/v1/chat_pb.js";
import { type Harness, rejectsWith, startHarness, type User, waitFor } from "./harness.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

function roles(room: Room | undefined): Record<string, string> {
  assert.ok(room);
  return Object.fromEntries(room.members.map((m) => [m.userId, MemberRole[m.role]]));
}

async function roomOf(owner: User, others: User[], visibility = RoomVisibility.PRIVATE): Promise<string> {
  const { room } = await h.client.createRoom(
    { name: "team", visibility, memberIds: others.map((u) => u.userId) },
    owner.call,
  );
  assert.ok(room);
  return room.id;
}

describe("direct rooms", () => {
  test("one room per unordered pair, even when both users open it at once", async () => {
    const alice = await h.signIn("alice");
    const bob = await h.signIn("bob");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? h.client.openDirectRoom({ userId: bob.userId }, alice.call)
          : h.client.openDirectRoom({ userId: alice.userId }, bob.call),
      ),
    );
    const ids = new Set(results.map((r) => r.room?.id));
    assert.equal(ids.size, 1, "every call got the same room");
    assert.equal(results.filter((r) => r.created).length, 1, "exactly one call created it");
    const room = results[0]?.room;
    assert.ok(room);
    assert.equal(room.kind, RoomKind.DIRECT);
    assert.equal(room.visibility, RoomVisibility.PRIVATE);
    assert.deepEqual(roles(room), { [alice.userId]: "MEMBER", [bob.userId]: "MEMBER" });
    const [count] = await h.infra.sql<{ n: number }[]>`
      select count(*)::int as n from rooms where kind = 'direct' and direct_key like ${`%${alice.userId}%`}`;
    assert.equal(count?.n, 1);

    const again = await h.client.openDirectRoom({ userId: alice.userId.toUpperCase() }, bob.call);
    assert.equal(again.room?.id, room.id);
    assert.equal(again.created, false);

    // Messages there are flagged as direct for the notification pipeline.
    const { message } = await h.client.sendMessage({ roomId: room.id, text: "psst" }, alice.call);
    const sent = await waitFor(() => h.sentEvents.find((e) => e.messageId === message?.id), 10_000, "message.sent");
    assert.equal(sent.direct, true);
    assert.equal(sent.membersVersion, 1n, "sent under the membership the room was created with");
    const changes = h.eventsOf("room.members").filter((e) => e.roomId === room.id);
    assert.equal(changes.length, 1, "the racing calls published the pair's membership once");
    assert.deepEqual([...(changes[0]?.joinedUserIds ?? [])].sort(), [alice.userId, bob.userId].sort());
  });

  test("a direct room cannot be joined, added to, left, renamed or managed", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const carol = await h.signIn();
    const { room } = await h.client.openDirectRoom({ userId: bob.userId }, alice.call);
    assert.ok(room);
    const roomId = room.id;
    await rejectsWith(h.client.joinRoom({ roomId }, carol.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(h.client.getRoom({ roomId }, carol.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(
      h.client.addMembers({ roomId, userIds: [carol.userId] }, alice.call),
      Code.FailedPrecondition,
      "DIRECT_ROOM",
    );
    await rejectsWith(h.client.leaveRoom({ roomId }, alice.call), Code.FailedPrecondition, "DIRECT_ROOM");
    await rejectsWith(h.client.updateRoom({ roomId, name: "x" }, alice.call), Code.FailedPrecondition, "DIRECT_ROOM");
    await rejectsWith(
      h.client.removeMember({ roomId, userId: bob.userId }, alice.call),
      Code.FailedPrecondition,
      "DIRECT_ROOM",
    );
    await rejectsWith(
      h.client.setMemberRole({ roomId, userId: bob.userId, role: MemberRole.ADMIN }, alice.call),
      Code.FailedPrecondition,
      "DIRECT_ROOM",
    );
    const err = await rejectsWith(
      h.client.openDirectRoom({ userId: alice.userId }, alice.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    assert.match(err.rawMessage, /^user_id:/);
    const got = await h.client.getRoom({ roomId }, bob.call);
    assert.deepEqual(got.room?.memberIds, room.memberIds, "still exactly the pair");
  });
});

describe("roles", () => {
  test("update, add, kick and role changes are checked against the caller's role", async () => {
    const owner = await h.signIn("owner");
    const ann = await h.signIn("ann");
    const ben = await h.signIn("ben");
    const max = await h.signIn("max");
    const joe = await h.signIn("joe");
    const roomId = await roomOf(owner, [ann, ben, max]);

    // A plain member may do none of it in a private room.
    await rejectsWith(
      h.client.updateRoom({ roomId, name: "mine" }, max.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await rejectsWith(
      h.client.addMembers({ roomId, userIds: [joe.userId] }, max.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await rejectsWith(
      h.client.removeMember({ roomId, userId: ben.userId }, max.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await rejectsWith(
      h.client.setMemberRole({ roomId, userId: max.userId, role: MemberRole.ADMIN }, max.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );

    // The owner makes ann and ben admins.
    await h.client.setMemberRole({ roomId, userId: ann.userId, role: MemberRole.ADMIN }, owner.call);
    await h.client.setMemberRole({ roomId, userId: ben.userId, role: MemberRole.ADMIN }, owner.call);
    let { room } = await h.client.getRoom({ roomId }, max.call);
    assert.deepEqual(roles(room), {
      [owner.userId]: "OWNER",
      [ann.userId]: "ADMIN",
      [ben.userId]: "ADMIN",
      [max.userId]: "MEMBER",
    });

    // An admin updates, adds and kicks members, but does not change roles,
    // kick another admin or the owner.
    const updated = await h.client.updateRoom({ roomId, name: " renamed ", topic: "plans" }, ann.call);
    assert.equal(updated.room?.name, "renamed");
    assert.equal(updated.room?.topic, "plans");
    const added = await h.client.addMembers({ roomId, userIds: [joe.userId] }, ann.call);
    assert.equal(roles(added.room)[joe.userId], "MEMBER");
    await rejectsWith(
      h.client.setMemberRole({ roomId, userId: max.userId, role: MemberRole.ADMIN }, ann.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await rejectsWith(
      h.client.removeMember({ roomId, userId: ben.userId }, ann.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await rejectsWith(
      h.client.removeMember({ roomId, userId: owner.userId }, ann.call),
      Code.PermissionDenied,
      "OWNER_PROTECTED",
    );
    await h.client.removeMember({ roomId, userId: joe.userId }, ann.call);
    await rejectsWith(h.client.getRoom({ roomId }, joe.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(
      h.client.removeMember({ roomId, userId: joe.userId }, ann.call),
      Code.NotFound,
      "MEMBER_NOT_FOUND",
    );

    // The owner kicks an admin, demotes one, and is never demoted.
    await h.client.removeMember({ roomId, userId: ben.userId }, owner.call);
    await h.client.setMemberRole({ roomId, userId: ann.userId, role: MemberRole.MEMBER }, owner.call);
    await rejectsWith(
      h.client.setMemberRole({ roomId, userId: owner.userId, role: MemberRole.ADMIN }, owner.call),
      Code.PermissionDenied,
      "OWNER_PROTECTED",
    );
    await rejectsWith(
      h.client.setMemberRole({ roomId, userId: joe.userId, role: MemberRole.ADMIN }, owner.call),
      Code.NotFound,
      "MEMBER_NOT_FOUND",
    );
    const err = await rejectsWith(
      h.client.setMemberRole({ roomId, userId: ann.userId, role: MemberRole.OWNER }, owner.call),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    assert.match(err.rawMessage, /^role:/);
    ({ room } = await h.client.getRoom({ roomId }, owner.call));
    assert.deepEqual(roles(room), { [owner.userId]: "OWNER", [ann.userId]: "MEMBER", [max.userId]: "MEMBER" });
    assert.equal(room?.name, "renamed");
  });

  test("who may add members is the room's setting: owners and admins unless it says every member", async () => {
    const owner = await h.signIn();
    const member = await h.signIn();
    const outsider = await h.signIn();
    const newcomer = await h.signIn();
    const roomId = await roomOf(owner, [member], RoomVisibility.PUBLIC);
    const created = await h.client.getRoom({ roomId }, owner.call);
    assert.equal(created.room?.memberAddPolicy, MemberAddPolicy.ADMINS, "the default");
    // In a public room a plain member adds only themselves, by joining.
    await rejectsWith(
      h.client.addMembers({ roomId, userIds: [newcomer.userId] }, member.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await rejectsWith(
      h.client.addMembers({ roomId, userIds: [newcomer.userId] }, outsider.call),
      Code.PermissionDenied,
      "NOT_A_MEMBER",
    );
    await rejectsWith(
      h.client.updateRoom({ roomId, memberAddPolicy: MemberAddPolicy.MEMBERS }, member.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    const updated = await h.client.updateRoom({ roomId, memberAddPolicy: MemberAddPolicy.MEMBERS }, owner.call);
    assert.equal(updated.room?.memberAddPolicy, MemberAddPolicy.MEMBERS);
    const { room } = await h.client.addMembers({ roomId, userIds: [newcomer.userId, owner.userId] }, member.call);
    assert.deepEqual(roles(room), {
      [owner.userId]: "OWNER",
      [member.userId]: "MEMBER",
      [newcomer.userId]: "MEMBER",
    });
    await rejectsWith(
      h.client.addMembers({ roomId, userIds: [newcomer.userId] }, outsider.call),
      Code.PermissionDenied,
      "NOT_A_MEMBER",
    );

    // A private room can say so from its creation.
    const { room: open } = await h.client.createRoom(
      {
        name: "open",
        visibility: RoomVisibility.PRIVATE,
        memberAddPolicy: MemberAddPolicy.MEMBERS,
        memberIds: [member.userId],
      },
      owner.call,
    );
    assert.equal(open?.memberAddPolicy, MemberAddPolicy.MEMBERS);
    const added = await h.client.addMembers({ roomId: open?.id ?? "", userIds: [outsider.userId] }, member.call);
    assert.ok(added.room?.memberIds.includes(outsider.userId));
  });
});

describe("leaving", () => {
  test("the owner hands over to the oldest admin, else the oldest member; an emptied room waits for a new owner", async () => {
    const owner = await h.signIn();
    const early = await h.signIn("early");
    const late = await h.signIn("late");
    const roomId = await roomOf(owner, [early], RoomVisibility.PUBLIC);
    await h.client.joinRoom({ roomId }, late.call);
    await h.client.setMemberRole({ roomId, userId: late.userId, role: MemberRole.ADMIN }, owner.call);

    await h.client.leaveRoom({ roomId }, owner.call);
    let { room } = await h.client.getRoom({ roomId }, early.call);
    assert.deepEqual(roles(room), { [early.userId]: "MEMBER", [late.userId]: "OWNER" }, "the admin outranks age");
    await rejectsWith(h.client.getRoom({ roomId }, owner.call), Code.PermissionDenied, "NOT_A_MEMBER");
    await rejectsWith(h.client.leaveRoom({ roomId }, owner.call), Code.PermissionDenied, "NOT_A_MEMBER");

    await h.client.leaveRoom({ roomId }, late.call);
    ({ room } = await h.client.getRoom({ roomId }, early.call));
    assert.deepEqual(roles(room), { [early.userId]: "OWNER" });

    // The last member leaves: the room stays, ownerless, until someone joins.
    await h.client.leaveRoom({ roomId }, early.call);
    const [row] = await h.infra.sql<
      { n: number }[]
    >`select count(*)::int as n from room_members where room_id = ${roomId}`;
    assert.equal(row?.n, 0);
    ({ room } = await h.client.joinRoom({ roomId }, owner.call));
    assert.deepEqual(roles(room), { [owner.userId]: "OWNER" }, "the first to return owns it");
    ({ room } = await h.client.joinRoom({ roomId }, late.call));
    assert.deepEqual(roles(room), { [owner.userId]: "OWNER", [late.userId]: "MEMBER" });
  });

  test("a change that waited for the room's lock sees the roles as they are once it has it", async () => {
    // Holds the room's lock while calls queue behind it, one at a time, then lets them through in that order.
    async function queuedBehindLock(roomId: string, calls: (() => Promise<unknown>)[]): Promise<unknown[]> {
      const outcomes: Promise<unknown>[] = [];
      await h.infra.sql.begin(async (tx) => {
        await tx`select 1 from rooms where id = ${roomId} for update`;
        for (const [i, call] of calls.entries()) {
          outcomes.push(
            call().then(
              (v) => v,
              (err: unknown) => err,
            ),
          );
          await waitFor(
            async () => {
              const [row] = await h.infra.sql<{ n: number }[]>`
                select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'`;
              return (row?.n ?? 0) > i || undefined;
            },
            10_000,
            `call ${i + 1} to wait for the room's lock`,
          );
        }
      });
      return Promise.all(outcomes);
    }

    // The owner and the admin leave at once: the admin, owner by the time
    // their leave runs, hands the room on rather than orphaning it.
    const owner = await h.signIn();
    const admin = await h.signIn();
    const member = await h.signIn();
    let roomId = await roomOf(owner, [admin, member]);
    await h.client.setMemberRole({ roomId, userId: admin.userId, role: MemberRole.ADMIN }, owner.call);
    await queuedBehindLock(roomId, [
      () => h.client.leaveRoom({ roomId }, owner.call),
      () => h.client.leaveRoom({ roomId }, admin.call),
    ]);
    let { room } = await h.client.getRoom({ roomId }, member.call);
    assert.deepEqual(roles(room), { [member.userId]: "OWNER" });

    // An admin demoted while their kick waited kicks no one.
    roomId = await roomOf(owner, [admin, member]);
    await h.client.setMemberRole({ roomId, userId: admin.userId, role: MemberRole.ADMIN }, owner.call);
    const [, kick] = await queuedBehindLock(roomId, [
      () => h.client.setMemberRole({ roomId, userId: admin.userId, role: MemberRole.MEMBER }, owner.call),
      () => h.client.removeMember({ roomId, userId: member.userId }, admin.call),
    ]);
    await rejectsWith(Promise.reject(kick), Code.PermissionDenied, "INSUFFICIENT_ROLE");
    ({ room } = await h.client.getRoom({ roomId }, owner.call));
    assert.deepEqual(roles(room), { [owner.userId]: "OWNER", [admin.userId]: "MEMBER", [member.userId]: "MEMBER" });

    // Two joins at once: one member, one JOINED event.
    const { room: open } = await h.client.createRoom({ name: "open", visibility: RoomVisibility.PUBLIC }, owner.call);
    assert.ok(open);
    await queuedBehindLock(open.id, [
      () => h.client.joinRoom({ roomId: open.id }, member.call),
      () => h.client.joinRoom({ roomId: open.id }, member.call),
    ]);
    const { events } = await h.client.listEvents({ roomId: open.id }, owner.call);
    const joined = events.filter((e) => e.kind.case === "memberChanged" && e.kind.value.userId === member.userId);
    assert.equal(joined.length, 1);
  });

  test("a member who leaves a private room cannot come back by themselves", async () => {
    const owner = await h.signIn();
    const member = await h.signIn();
    const roomId = await roomOf(owner, [member]);
    await h.client.leaveRoom({ roomId }, member.call);
    await rejectsWith(h.client.joinRoom({ roomId }, member.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(h.client.listMessages({ roomId }, member.call), Code.NotFound, "ROOM_NOT_FOUND");
    const { room } = await h.client.getRoom({ roomId }, owner.call);
    assert.deepEqual(room?.memberIds, [owner.userId]);
  });
});

describe("room lists", () => {
  test("private rooms are invisible to outsiders everywhere", async () => {
    const owner = await h.signIn();
    const outsider = await h.signIn();
    const prefix = `hidden${Date.now()}`;
    const { room: secret } = await h.client.createRoom(
      { name: `${prefix}-secret`, visibility: RoomVisibility.PRIVATE },
      owner.call,
    );
    const { room: open } = await h.client.createRoom(
      { name: `${prefix}-open`, visibility: RoomVisibility.PUBLIC },
      owner.call,
    );
    assert.ok(secret && open);
    const listed = await h.client.listPublicRooms({ namePrefix: prefix }, outsider.call);
    assert.deepEqual(
      listed.rooms.map((r) => r.id),
      [open.id],
    );
    const mine = await h.client.listRooms({}, outsider.call);
    assert.deepEqual(mine.rooms, []);
    const roomId = secret.id;
    await rejectsWith(h.client.listEvents({ roomId }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(h.client.markRead({ roomId, seq: 1n }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(h.client.sendTyping({ roomId }, outsider.call), Code.NotFound, "ROOM_NOT_FOUND");
    await rejectsWith(
      h.client.addMembers({ roomId, userIds: [outsider.userId] }, outsider.call),
      Code.NotFound,
      "ROOM_NOT_FOUND",
    );
  });

  test("ListPublicRooms matches a case-insensitive name prefix, literally", async () => {
    const owner = await h.signIn();
    const tag = `Pfx${Date.now()}`;
    for (const name of [`${tag} Beta`, `${tag} alpha`, `${tag}_x`, `${tag}%y`, `other ${tag}`]) {
      await h.client.createRoom({ name, visibility: RoomVisibility.PUBLIC }, owner.call);
    }
    const names = async (namePrefix: string, limit = 0) =>
      (await h.client.listPublicRooms({ namePrefix, limit }, owner.call)).rooms.map((r) => r.name);
    assert.deepEqual(
      await names(tag.toLowerCase()),
      [`${tag}%y`, `${tag} alpha`, `${tag} Beta`, `${tag}_x`].sort((a, b) =>
        a.toLowerCase() < b.toLowerCase() ? -1 : 1,
      ),
    );
    assert.deepEqual(await names(`${tag}_`), [`${tag}_x`], "_ is not a wildcard");
    assert.deepEqual(await names(`${tag}%`), [`${tag}%y`], "% is not a wildcard");
    assert.equal((await names(tag, 2)).length, 2);
    const listed = await h.client.listPublicRooms({ namePrefix: tag }, owner.call);
    assert.deepEqual(listed.rooms[0]?.memberIds, [], "listed without members");
  });

  test("ListRooms: most recently active first, with the last message and unread = head_seq - last_read_seq", async () => {
    const me = await h.signIn();
    const other = await h.signIn();
    const mk = async (name: string) => {
      const { room } = await h.client.createRoom({ name, memberIds: [me.userId] }, other.call);
      assert.ok(room);
      return room.id;
    };
    const first = await mk("first");
    const quiet = await mk("quiet");
    const busy = await mk("busy");
    for (const text of ["a", "b", "c"]) await h.client.sendMessage({ roomId: first, text }, other.call);
    await h.client.sendMessage({ roomId: busy, text: "latest" }, other.call);

    let { rooms } = await h.client.listRooms({}, me.call);
    assert.deepEqual(
      rooms.map((r) => r.room?.name),
      ["busy", "first", "quiet"],
    );
    const summary = (id: string) => rooms.find((r) => r.room?.id === id);
    assert.equal(summary(busy)?.lastMessage?.text, "latest");
    assert.equal(summary(first)?.lastMessage?.seq, 3n);
    assert.equal(summary(quiet)?.lastMessage, undefined);
    assert.deepEqual(
      rooms.map((r) => [r.lastReadSeq, r.unreadCount]),
      [
        [0n, 1n],
        [0n, 3n],
        [0n, 0n],
      ],
    );
    assert.deepEqual(summary(first)?.room?.memberIds.sort(), [me.userId, other.userId].sort());

    await h.client.markRead({ roomId: first, seq: 2n }, me.call);
    await h.client.sendMessage({ roomId: first, text: "d" }, other.call);
    ({ rooms } = await h.client.listRooms({}, me.call));
    assert.deepEqual(
      rooms.map((r) => r.room?.name),
      ["first", "busy", "quiet"],
    );
    assert.equal(summary(first)?.lastReadSeq, 2n);
    assert.equal(summary(first)?.unreadCount, 2n);
  });
});

describe("read markers of new members", () => {
  test("a member who joins, is added or comes back has read up to the room's head", async () => {
    const owner = await h.signIn();
    const joiner = await h.signIn();
    const added = await h.signIn();
    const roomId = await roomOf(owner, [], RoomVisibility.PUBLIC);
    for (const text of ["a", "b", "c"]) await h.client.sendMessage({ roomId, text }, owner.call);
    const unread = async (who: User) => {
      const { rooms } = await h.client.listRooms({}, who.call);
      const entry = rooms.find((r) => r.room?.id === roomId);
      assert.ok(entry);
      return [entry.lastReadSeq, entry.unreadCount];
    };

    await h.client.joinRoom({ roomId }, joiner.call);
    await h.client.addMembers({ roomId, userIds: [added.userId] }, owner.call);
    assert.deepEqual(await unread(joiner), [3n, 0n]);
    assert.deepEqual(await unread(added), [3n, 0n]);

    await h.client.sendMessage({ roomId, text: "d" }, owner.call);
    assert.deepEqual(await unread(joiner), [3n, 1n], "what is said after joining is unread");

    // Away while two more were said: back, none of it is unread, and the marker never moved back.
    await h.client.leaveRoom({ roomId }, joiner.call);
    for (const text of ["e", "f"]) await h.client.sendMessage({ roomId, text }, owner.call);
    await h.client.joinRoom({ roomId }, joiner.call);
    assert.deepEqual(await unread(joiner), [6n, 0n]);
  });
});

describe("room.members events", () => {
  test("every change of who is in a room is published once, numbered without gaps; nothing else is", async () => {
    const owner = await h.signIn();
    const bob = await h.signIn();
    const carol = await h.signIn();
    const dan = await h.signIn();
    const roomId = await roomOf(owner, [bob], RoomVisibility.PUBLIC);
    await h.client.addMembers({ roomId, userIds: [carol.userId] }, owner.call);
    // Already members: no change, no event.
    await h.client.addMembers({ roomId, userIds: [carol.userId, bob.userId] }, owner.call);
    await h.client.joinRoom({ roomId }, dan.call);
    await h.client.joinRoom({ roomId }, dan.call);
    // A role change is not a membership change; a refused kick changes nothing.
    await h.client.setMemberRole({ roomId, userId: carol.userId, role: MemberRole.ADMIN }, owner.call);
    await rejectsWith(
      h.client.removeMember({ roomId, userId: bob.userId }, dan.call),
      Code.PermissionDenied,
      "INSUFFICIENT_ROLE",
    );
    await h.client.removeMember({ roomId, userId: bob.userId }, owner.call);
    await h.client.leaveRoom({ roomId }, carol.call);
    const { message } = await h.client.sendMessage({ roomId, text: "who is left?" }, dan.call);

    const sent = await waitFor(() => h.sentEvents.find((e) => e.messageId === message?.id), 10_000, "message.sent");
    // Published in commit order: everything before the message has arrived by now.
    const changes = h.eventsOf("room.members").filter((e) => e.roomId === roomId);
    assert.deepEqual(
      changes.map((e) => ({ v: Number(e.version), joined: [...e.joinedUserIds], left: [...e.leftUserIds] })),
      [
        { v: 1, joined: [owner.userId, bob.userId], left: [] },
        { v: 2, joined: [carol.userId], left: [] },
        { v: 3, joined: [dan.userId], left: [] },
        { v: 4, joined: [], left: [bob.userId] },
        { v: 5, joined: [], left: [carol.userId] },
      ],
    );
    assert.equal(sent.membersVersion, 5n, "the message was sent under the latest membership");
  });
});
