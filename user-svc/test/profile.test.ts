/**
 * Profiles: partial updates validated by proto, stored verbatim whatever they
 * contain, announced as user.updated; other users' public profiles and the
 * username prefix search, for signed-in callers only.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { NotificationLevel } from "@parley/proto/user/v1/user_pb.js";
import { bearer, type Harness, PASSWORD, rejectsWith, type SignedUp, startHarness, waitFor } from "./harness.js";

let h: Harness;
let me: SignedUp;

before(async () => {
  h = await startHarness();
  me = await h.signUp("Profiler");
});

after(async () => {
  await h?.close();
});

const SQL = "'); drop table users; --";
const HTML = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

test("a new profile is empty with notifications at ALL", async () => {
  const { user } = await h.client.getProfile({}, bearer(me.accessToken));
  assert.deepEqual(
    {
      displayName: user?.displayName,
      avatarUrl: user?.avatarUrl,
      bio: user?.bio,
      statusText: user?.statusText,
      notificationLevel: user?.notificationLevel,
    },
    { displayName: "", avatarUrl: "", bio: "", statusText: "", notificationLevel: NotificationLevel.ALL },
  );
});

test("only the fields that are set change; an empty string clears one", async () => {
  const user = await h.signUp("partial");
  const first = await h.client.updateProfile(
    { displayName: "Part Ial", bio: "hello", statusText: "busy", avatarUrl: "https://cdn.example.test/a.png" },
    bearer(user.accessToken),
  );
  assert.equal(first.user?.displayName, "Part Ial");
  const second = await h.client.updateProfile(
    { statusText: "", notificationLevel: NotificationLevel.MENTIONS_AND_DIRECT },
    bearer(user.accessToken),
  );
  assert.equal(second.user?.displayName, "Part Ial");
  assert.equal(second.user?.bio, "hello");
  assert.equal(second.user?.avatarUrl, "https://cdn.example.test/a.png");
  assert.equal(second.user?.statusText, "");
  assert.equal(second.user?.notificationLevel, NotificationLevel.MENTIONS_AND_DIRECT);
  const { user: stored } = await h.client.getProfile({}, bearer(user.accessToken));
  assert.deepEqual(stored, second.user);
});

test("SQL and HTML in every free-text field are stored and returned verbatim, and harm nothing", async () => {
  const user = await h.signUp("bobby_tables");
  const avatarUrl = "https://example.test/');drop/**/table/**/users;--?q=%3Cscript%3E";
  const update = {
    displayName: SQL,
    bio: `${HTML}\n${SQL} \\ % _ \u202e rtl 🙂`,
    statusText: HTML,
    avatarUrl,
  };
  const res = await h.client.updateProfile(update, bearer(user.accessToken));
  for (const [field, value] of Object.entries(update)) {
    assert.equal(res.user?.[field as keyof typeof update], value, field);
  }
  const [row] = await h.infra
    .sql`select display_name, bio, status_text, avatar_url from users where id = ${user.userId}`;
  assert.deepEqual(row, {
    display_name: update.displayName,
    bio: update.bio,
    status_text: update.statusText,
    avatar_url: avatarUrl,
  });
  const [count] = await h.infra.sql`select count(*)::int as n from users`;
  assert.ok((count?.n ?? 0) >= 2, "users table intact");
  const seen = await h.client.getUser({ userId: user.userId }, bearer(me.accessToken));
  assert.equal(seen.user?.displayName, SQL);
  assert.equal(seen.user?.statusText, HTML);
});

test("SQL in a password is just a password; SQL in constrained fields is refused by validation", async () => {
  const password = `${SQL} ${HTML}`;
  const user = await h.signUp("sqlpass", password);
  await h.client.login({ identifier: { case: "email", value: user.email }, password });
  await h.takeOtp(user.email);
  await rejectsWith(
    h.client.login({ identifier: { case: "username", value: SQL }, password }),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await rejectsWith(
    h.client.register({ email: `x${SQL}@example.test`, username: "sqlmail", password: PASSWORD }),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await rejectsWith(
    h.client.register({ email: "html@example.test", username: HTML, password: PASSWORD }),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await rejectsWith(h.client.verifyOtp({ email: user.email, otp: "1' OR" }), Code.InvalidArgument, "INVALID_ARGUMENT");
  await rejectsWith(
    h.client.searchUsers({ prefix: "%' or 1=1 --" }, bearer(me.accessToken)),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await rejectsWith(
    h.client.getUser({ userId: SQL }, bearer(me.accessToken)),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
});

test("usernames that only look alike (Unicode confusables, full-width) are refused", async () => {
  for (const username of ["ａｌｉｃｅ", "аlice", "al\u200bice", "alice\u0301"]) {
    const err = await rejectsWith(
      h.client.register({ email: "lookalike@example.test", username, password: PASSWORD }),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    assert.ok("username" in (err.findDetails(ErrorInfoSchema)[0]?.metadata ?? {}));
  }
});

test("invalid updates are refused naming the field, and change nothing", async () => {
  const user = await h.signUp("strict");
  await h.client.updateProfile({ bio: "kept" }, bearer(user.accessToken));
  const bad = [
    { req: { bio: "b".repeat(501) }, field: "bio" },
    { req: { displayName: "d".repeat(65) }, field: "display_name" },
    { req: { statusText: "s".repeat(141) }, field: "status_text" },
    { req: { avatarUrl: "not a url" }, field: "avatar_url" },
    { req: { avatarUrl: "/relative/path.png" }, field: "avatar_url" },
    { req: { avatarUrl: "https://example.test/<script>" }, field: "avatar_url" },
    // Absolute URIs, but not something an <img> or a link should ever be given.
    { req: { avatarUrl: "javascript:alert(document.cookie)" }, field: "avatar_url" },
    { req: { avatarUrl: "data:image/svg+xml,<svg onload=alert(1)>" }, field: "avatar_url" },
    { req: { avatarUrl: "JAVASCRIPT:alert(1)" }, field: "avatar_url" },
    { req: { avatarUrl: "ftp://example.test/a.png" }, field: "avatar_url" },
    // Mixed content on an https page, and swappable by anyone on the path.
    { req: { avatarUrl: "http://example.test/a.png" }, field: "avatar_url" },
    // A name that shows as nothing, or hides characters, or passes for a @username.
    { req: { displayName: "   " }, field: "display_name" },
    { req: { displayName: "\u3000\u3164" }, field: "display_name" },
    { req: { displayName: "Ada\nLovelace" }, field: "display_name" },
    { req: { displayName: "Ada\tLovelace" }, field: "display_name" },
    { req: { displayName: "ad\u200Ba" }, field: "display_name" },
    { req: { displayName: "a\u200Dda" }, field: "display_name" },
    { req: { displayName: "\u202Eada" }, field: "display_name" },
    { req: { displayName: "ada\u2028" }, field: "display_name" },
    { req: { displayName: "@ada" }, field: "display_name" },
    { req: { displayName: "  @ada" }, field: "display_name" },
    { req: { avatarUrl: `https://example.test/${"a".repeat(2048)}` }, field: "avatar_url" },
    { req: { notificationLevel: NotificationLevel.UNSPECIFIED }, field: "notification_level" },
    { req: { notificationLevel: 42 as NotificationLevel }, field: "notification_level" },
  ];
  for (const { req, field } of bad) {
    const err = await rejectsWith(
      h.client.updateProfile({ ...req, displayName: req.displayName ?? "changed?" }, bearer(user.accessToken)),
      Code.InvalidArgument,
      "INVALID_ARGUMENT",
    );
    const metadata = err.findDetails(ErrorInfoSchema)[0]?.metadata ?? {};
    assert.ok(field in metadata, `${field} not named in ${JSON.stringify(metadata)}`);
    assert.match(err.rawMessage, new RegExp(`^${field}:|; ${field}:`));
  }
  // PostgreSQL text cannot hold NUL: refused up front rather than failing as an internal error.
  const nul = await rejectsWith(
    h.client.updateProfile({ statusText: "a\u0000b" }, bearer(user.accessToken)),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  assert.ok("status_text" in (nul.findDetails(ErrorInfoSchema)[0]?.metadata ?? {}));
  // 500 characters is fine.
  await h.client.updateProfile({ bio: "é".repeat(500) }, bearer(user.accessToken));
  const { user: stored } = await h.client.getProfile({}, bearer(user.accessToken));
  assert.equal(stored?.displayName, "");
  assert.equal(stored?.bio, "é".repeat(500));
});

test("a display name is stored trimmed, may hold emoji sequences, and empty means none", async () => {
  const user = await h.signUp("trimmed");
  const padded = await h.client.updateProfile({ displayName: "  Ada  Lovelace \u3000" }, bearer(user.accessToken));
  assert.equal(padded.user?.displayName, "Ada  Lovelace");
  const emoji = await h.client.updateProfile({ displayName: "Ada 👩\u200D💻 🏳️\u200D🌈" }, bearer(user.accessToken));
  assert.equal(emoji.user?.displayName, "Ada 👩\u200D💻 🏳️\u200D🌈");
  const cleared = await h.client.updateProfile({ displayName: "" }, bearer(user.accessToken));
  assert.equal(cleared.user?.displayName, "");
});

test("an update emits user.updated with the account's new state", async () => {
  const user = await h.signUp("eventful");
  await h.client.updateProfile(
    { displayName: "Event Ful", notificationLevel: NotificationLevel.NONE },
    bearer(user.accessToken),
  );
  const event = await waitFor(() => h.updatedEvents.find((e) => e.userId === user.userId));
  assert.deepEqual(
    {
      email: event.email,
      username: event.username,
      displayName: event.displayName,
      notificationLevel: event.notificationLevel,
    },
    {
      email: user.email,
      username: "eventful",
      displayName: "Event Ful",
      notificationLevel: NotificationLevel.NONE,
    },
  );
  // A refused update is not announced.
  await rejectsWith(
    h.client.updateProfile({ bio: "x".repeat(501) }, bearer(user.accessToken)),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await h.client.updateProfile({ statusText: "marker" }, bearer(user.accessToken));
  await waitFor(() => h.updatedEvents.find((e) => e.userId === user.userId && e !== event));
  assert.equal(h.updatedEvents.filter((e) => e.userId === user.userId).length, 2);
});

test("GetUser: a verified user's public profile; unverified or unknown → NotFound USER_NOT_FOUND", async () => {
  const other = await h.signUp("Visible");
  await h.client.updateProfile({ displayName: "Vis", bio: "about me" }, bearer(other.accessToken));
  const { user } = await h.client.getUser({ userId: other.userId }, bearer(me.accessToken));
  assert.equal(user?.id, other.userId);
  assert.equal(user?.username, "Visible");
  assert.equal(user?.displayName, "Vis");
  assert.equal(user?.bio, "about me");
  assert.ok(!JSON.stringify(user).includes(other.email), "email leaked");

  const pending = await h.client.register({ email: "pending@example.test", username: "pending", password: PASSWORD });
  await h.takeOtp("pending@example.test");
  await rejectsWith(
    h.client.getUser({ userId: pending.userId }, bearer(me.accessToken)),
    Code.NotFound,
    "USER_NOT_FOUND",
  );
  await rejectsWith(
    h.client.getUser({ userId: randomUUID() }, bearer(me.accessToken)),
    Code.NotFound,
    "USER_NOT_FOUND",
  );
  await rejectsWith(h.client.getUser({ userId: other.userId }), Code.Unauthenticated, "UNAUTHENTICATED");
});

test("SearchUsers: prefix in any case, username order, verified only, limits", async () => {
  for (const name of ["Srch_b", "srch_A", "SRCH_c", "srchx", "srch_d"]) await h.signUp(name);
  await h.client.register({ email: "srch_pending@example.test", username: "srch_pending", password: PASSWORD });
  await h.takeOtp("srch_pending@example.test");

  const names = async (prefix: string, limit = 0) =>
    (await h.client.searchUsers({ prefix, limit }, bearer(me.accessToken))).users.map((u) => u.username);
  assert.deepEqual(await names("SRCH_"), ["srch_A", "Srch_b", "SRCH_c", "srch_d"]);
  assert.deepEqual(await names("srch_"), await names("Srch_"));
  // "_" is a literal, not LIKE's any-character: srchx does not match "srch_".
  assert.ok(!(await names("srch_")).includes("srchx"));
  assert.deepEqual(await names("srch"), ["srch_A", "Srch_b", "SRCH_c", "srch_d", "srchx"]);
  assert.deepEqual(await names("srch", 2), ["srch_A", "Srch_b"]);
  assert.deepEqual(await names("nomatch"), []);
  const results = await h.client.searchUsers({ prefix: "srch_a" }, bearer(me.accessToken));
  assert.ok(!JSON.stringify(results).includes("@example.test"), "email leaked");

  await rejectsWith(
    h.client.searchUsers({ prefix: "srch", limit: 51 }, bearer(me.accessToken)),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await rejectsWith(
    h.client.searchUsers({ prefix: "" }, bearer(me.accessToken)),
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
  );
  await rejectsWith(h.client.searchUsers({ prefix: "srch" }), Code.Unauthenticated, "UNAUTHENTICATED");
});

test("SearchUsers: the limit defaults to 20 and is at most 50", async () => {
  for (let i = 0; i < 22; i++) {
    await h.infra.sql`
      insert into users (email, username, username_key, password_hash, verified_at)
      values (${`bulk${i}@example.test`}, ${`Bulk${String(i).padStart(2, "0")}`}, ${`bulk${String(i).padStart(2, "0")}`}, 'x', now())`;
  }
  const all = await h.client.searchUsers({ prefix: "bulk" }, bearer(me.accessToken));
  assert.equal(all.users.length, 20);
  assert.equal(all.users[0]?.username, "Bulk00");
  const fifty = await h.client.searchUsers({ prefix: "bulk", limit: 50 }, bearer(me.accessToken));
  assert.equal(fifty.users.length, 22);
});

test("the prefix search can use the text_pattern_ops index", async () => {
  const plan = await h.infra.sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    return tx.unsafe(
      `explain select * from users where username_key like 'srch\\_%' and verified_at is not null order by username_key collate "C" limit 20`,
    );
  });
  const text = plan.map((r) => String(r["QUERY PLAN"])).join("\n");
  assert.match(text, /users_username_key_prefix_idx/);
});

test("profile calls need a live session", async () => {
  await rejectsWith(h.client.updateProfile({ bio: "x" }), Code.Unauthenticated, "UNAUTHENTICATED");
  const user = await h.signUp("loggedout");
  await h.client.logout({}, bearer(user.accessToken));
  await rejectsWith(
    h.client.updateProfile({ bio: "x" }, bearer(user.accessToken)),
    Code.Unauthenticated,
    "UNAUTHENTICATED",
  );
  await rejectsWith(
    h.client.searchUsers({ prefix: "a" }, bearer(user.accessToken)),
    Code.Unauthenticated,
    "UNAUTHENTICATED",
  );
});
