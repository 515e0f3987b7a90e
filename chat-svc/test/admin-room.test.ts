/**
 * `npm run admin -- room <id>` against a real chat-svc: after a room is made
 * and written to through ChatService, the command shows its heads and every
 * member with role and read position; an unknown room and a bad id fail clearly.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { freePort, runScript } from "@parley/shared/testing.js";
import { type Harness, startHarness } from "./harness.js";

const root = new URL("../..", import.meta.url).pathname;

function admin(args: string[], databaseUrl: string) {
  return runScript(root, "scripts/admin.ts", args, { DATABASE_URL: databaseUrl });
}

describe("npm run admin -- room", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("shows the room's heads and its members", async () => {
    const owner = await h.signIn();
    const member = await h.signIn();
    const roomId = await h.roomWith(owner, member);
    await h.client.sendMessage({ roomId, text: "one" }, owner.call);
    await h.client.sendMessage({ roomId, text: "two" }, member.call);

    const { code, stdout, stderr } = await admin(["room", roomId], h.config.DATABASE_URL);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^room ${roomId} `));
    assert.match(stdout, /heads: message 2, event \d+ \(oldest kept \d+\), members version \d+/);
    assert.match(stdout, /members: 2\n/);
    assert.match(stdout, new RegExp(`${owner.userId}  ${owner.username} +owner`));
    assert.match(stdout, new RegExp(`${member.userId}  ${member.username} +member`));
  });

  it("fails with 3 for an unknown room, 1 for an unreachable database and 2 for something that is not a room id", async () => {
    const missing = randomUUID();
    const unknown = await admin(["room", missing], h.config.DATABASE_URL);
    assert.equal(unknown.code, 3, "not found, told apart from unreachable");
    assert.match(unknown.stderr, new RegExp(`no room ${missing}`));
    const unreachable = await admin(["room", missing], `postgres://postgres@127.0.0.1:${await freePort()}/parley_chat`);
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(unreachable.stderr, /DATABASE_URL/);
    const bad = await admin(["room", "general"], h.config.DATABASE_URL);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"general" is not a room id/);
  });
});
