/**
 * What a reaction may be (one emoji or a :shortcode:) and how many a message
 * takes: different reactions per message, and per user on one message.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import { errorReason } from "@parley/shared/errors.js";
import { type Harness, rejectsWith, startHarness, type User } from "./harness.js";

const PER_MESSAGE = 5;
const PER_USER = 3;

let h: Harness;
before(async () => {
  h = await startHarness(
    {},
    { MAX_REACTIONS_PER_MESSAGE: String(PER_MESSAGE), MAX_REACTIONS_PER_USER: String(PER_USER) },
  );
});
after(async () => {
  await h?.close();
});

async function messageIn(roomId: string, from: User): Promise<Message> {
  const { message } = await h.client.sendMessage({ roomId, text: "react to me" }, from.call);
  assert.ok(message);
  return message;
}

const emojisOf = (m: Message | undefined) => m?.reactions.map((r) => [r.emoji, r.userIds.length]);

describe("reaction values", () => {
  test("what the outside tester put on a message is refused as INVALID_ARGUMENT, and nothing is stored", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    const message = await messageIn(roomId, alice);
    const refused = [
      "hello",
      "<script>alert(1)</script>",
      "\u202E",
      "👍".repeat(32),
      "👍👎",
      "👍 ",
      "\u200B",
      ":Not_A_Shortcode:",
      ":tada",
      "::",
    ];
    for (const emoji of refused) {
      const err = await rejectsWith(
        h.client.addReaction({ roomId, messageId: message.id, emoji }, alice.call),
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
      );
      assert.match(err.rawMessage, /^emoji: /, `${JSON.stringify(emoji)}: ${err.rawMessage}`);
    }
    const [stored] = (await h.client.listMessages({ roomId }, alice.call)).messages;
    assert.deepEqual(stored?.reactions, []);
  });

  test("one emoji of any kind or a :shortcode: is taken; a text-style character is stored as its emoji", async () => {
    const alice = await h.signIn();
    const bob = await h.signIn();
    const roomId = await h.roomWith(alice, bob);
    const message = await messageIn(roomId, alice);
    const react = (by: User, emoji: string) =>
      h.client.addReaction({ roomId, messageId: message.id, emoji }, by.call).then((r) => r.message);
    await react(alice, "👍🏽"); // skin tone modifier sequence
    await react(alice, ":party_parrot:");
    await react(bob, "👨‍👩‍👧"); // ZWJ sequence
    await react(bob, "❤"); // U+2764, text style by default...
    const last = await react(bob, "🇫🇷"); // flag
    assert.deepEqual(emojisOf(last), [
      ["👍🏽", 1],
      [":party_parrot:", 1],
      ["👨‍👩‍👧", 1],
      ["❤️", 1], // ...stored with U+FE0F
      ["🇫🇷", 1],
    ]);
    // "❤️" and "❤" are one reaction, and either removes it.
    assert.deepEqual(emojisOf(await react(alice, "❤️"))?.at(3), ["❤️", 2]);
    const removed = await h.client.removeReaction({ roomId, messageId: message.id, emoji: "❤" }, bob.call);
    assert.deepEqual(removed.message?.reactions.find((r) => r.emoji === "❤️")?.userIds, [alice.userId]);
    // A keycap and a subdivision flag (a tag sequence) on another message.
    const other = await messageIn(roomId, alice);
    await h.client.addReaction({ roomId, messageId: other.id, emoji: "1️⃣" }, bob.call);
    const tagged = await h.client.addReaction({ roomId, messageId: other.id, emoji: "🏴󠁧󠁢󠁳󠁣󠁴󠁿" }, bob.call);
    assert.deepEqual(emojisOf(tagged.message), [
      ["1️⃣", 1],
      ["🏴󠁧󠁢󠁳󠁣󠁴󠁿", 1],
    ]);
  });

  test("a reaction stored before they were checked can still be removed", async () => {
    const alice = await h.signIn();
    const roomId = await h.roomWith(alice);
    const message = await messageIn(roomId, alice);
    await h.infra
      .sql`insert into message_reactions (message_id, emoji, user_id) values (${message.id}, 'hello', ${alice.userId})`;
    const { message: after } = await h.client.removeReaction(
      { roomId, messageId: message.id, emoji: "hello" },
      alice.call,
    );
    assert.deepEqual(after?.reactions, []);
  });
});

describe("reaction caps", () => {
  test(`one user puts at most ${PER_USER} different reactions on a message; a message takes at most ${PER_MESSAGE}`, async () => {
    const [alice, bob, carol] = [await h.signIn(), await h.signIn(), await h.signIn()];
    const roomId = await h.roomWith(alice, bob, carol);
    const message = await messageIn(roomId, alice);
    const react = (by: User, emoji: string) => h.client.addReaction({ roomId, messageId: message.id, emoji }, by.call);

    for (const emoji of ["👍", "🎉", "👀"]) await react(alice, emoji);
    const own = await rejectsWith(react(alice, "🚀"), Code.FailedPrecondition, "TOO_MANY_OWN_REACTIONS");
    assert.match(own.rawMessage, new RegExp(`with ${PER_USER} different reactions; remove one first`));
    await react(alice, "👍"); // again: no change, so not over
    await h.client.removeReaction({ roomId, messageId: message.id, emoji: "👀" }, alice.call);
    await react(alice, "🚀"); // room made by removing one

    await react(bob, "😀");
    await react(bob, "🙃"); // five different now
    const full = await rejectsWith(react(carol, "🔥"), Code.FailedPrecondition, "TOO_MANY_REACTIONS");
    assert.match(full.rawMessage, new RegExp(`already has ${PER_MESSAGE} different reactions`));
    const joined = await react(carol, "🙃"); // one already there is still open to all
    assert.deepEqual(emojisOf(joined.message), [
      ["👍", 1],
      ["🎉", 1],
      ["🚀", 1],
      ["😀", 1],
      ["🙃", 2],
    ]);
  });

  test("reactions arriving together never take a message past its cap", async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => h.signIn()));
    const [owner, ...others] = users as [User, ...User[]];
    const roomId = await h.roomWith(owner, ...others);
    const message = await messageIn(roomId, owner);
    const emojis = ["😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊"];
    const outcomes = await Promise.allSettled(
      users.map((u, i) => h.client.addReaction({ roomId, messageId: message.id, emoji: emojis[i] as string }, u.call)),
    );
    const refusals = outcomes.flatMap((o) =>
      o.status === "rejected" ? [errorReason(ConnectError.from(o.reason))] : [],
    );
    assert.equal(outcomes.length - refusals.length, PER_MESSAGE, "as many taken as the cap");
    assert.deepEqual(new Set(refusals), new Set(["TOO_MANY_REACTIONS"]));
    const [stored] = (await h.client.listMessages({ roomId }, owner.call)).messages;
    assert.equal(stored?.reactions.length, PER_MESSAGE);
  });
});
