/**
 * The whole system as separate processes: register → OTP email over SMTP →
 * verify → token → create room → two SDK clients (@parley/client) follow it
 * over the WebSocket → a REST send → both show the message with its sequence
 * number → history over REST → the notification email is sent.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ParleyClient } from "@parley/client";
import { type RunningSystem, startSystem, waitUntil } from "../support/system.js";
import { api as callApi, sdkFor, signUp as signUpVia } from "../support/users.js";

let system: RunningSystem;

before(async () => {
  system = await startSystem();
});

after(async () => {
  await system?.close();
});

const api = (method: string, path: string, body?: unknown, token?: string) =>
  callApi(system, method, path, body, token);
const signUp = (username: string) => signUpVia(system, username);

test("register, verify, chat over REST and WebSocket, and mail, end to end", async () => {
  const alice = await signUp("alice");
  const bob = await signUp("bob");
  // Carol never connects: she is the member who should hear about the message by mail.
  const carol = await signUp("carol");
  await system.smtp.waitFor((m) => m.envelopeTo.includes(bob.email) && /welcome/i.test(m.parsed.subject ?? ""));

  const profile = await api("GET", "/api/users/profile", undefined, alice.token);
  assert.equal(profile.status, 200);
  assert.equal((profile.json.user as { email: string }).email, alice.email);

  const created = await api(
    "POST",
    "/api/chats/rooms",
    { name: "general", memberIds: [bob.id, carol.id] },
    alice.token,
  );
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const roomId = (created.json.room as { id: string }).id;

  const sdk = (user: { token: string; refreshToken: string }) => sdkFor(system, user);
  const clients = [sdk(alice), sdk(bob)];
  try {
    await Promise.all(clients.map((c) => c.start()));
    await Promise.all(clients.map((c) => c.loadTimeline(roomId)));
    const live = (c: ParleyClient) => c.getSnapshot().roomsById.get(roomId)?.status === "live";
    await waitUntil(
      async () => clients.every(live),
      20_000,
      () => "both clients follow the room",
    );

    const sent = await api("POST", "/api/chats/messages", { roomId, message: "Hello, World!" }, alice.token);
    assert.equal(sent.status, 201, JSON.stringify(sent.json));
    const message = sent.json.message as { id: string; seq: string; text: string };
    assert.equal(message.seq, "1");

    const shown = (c: ParleyClient) =>
      (c.getSnapshot().roomsById.get(roomId)?.messages ?? []).map((m) => [m.id, String(m.seq), m.text]);
    await waitUntil(
      async () => clients.every((c) => shown(c).length > 0),
      20_000,
      () => `the message reached ${clients.map(shown).map((m) => JSON.stringify(m))}`,
    );
    for (const c of clients) assert.deepEqual(shown(c), [[message.id, "1", "Hello, World!"]]);

    const history = await api("GET", `/api/chats/rooms/${roomId}/messages`, undefined, bob.token);
    assert.equal(history.status, 200);
    const messages = history.json.messages as { id: string; text: string }[];
    assert.deepEqual(
      messages.map((m) => [m.id, m.text]),
      [[message.id, "Hello, World!"]],
    );

    const notification = await system.smtp.waitFor(
      (m) => m.envelopeTo.includes(carol.email) && /general/.test(m.parsed.subject ?? ""),
    );
    assert.match(notification.parsed.text ?? "", /Hello, World!/);
    assert.match(String(notification.parsed.html), /Hello, World!/);
    const roomMail = (email: string) =>
      system.smtp.mails.filter((m) => m.envelopeTo.includes(email) && /general/.test(m.parsed.subject ?? ""));
    assert.equal(roomMail(alice.email).length, 0, "the sender is not notified of their own message");
    assert.equal(roomMail(bob.email).length, 0, "a member who is online is not mailed");
  } finally {
    for (const c of clients) c.close();
  }
});

test("registering an account's email again answers as a new email does; the holder gets one notice by mail", async () => {
  const dora = await signUp("dora");
  const register = (email: string, username: string) =>
    api("POST", "/api/users/register", { email, username, password: "another horse battery" });
  const shape = (res: { status: number; json: Record<string, unknown> }) => ({
    status: res.status,
    fields: Object.keys(res.json).sort(),
    otpExpiresIn: res.json.otpExpiresIn,
  });
  const fresh = await register("nobody.yet@example.test", "nobody_yet");
  const taken = [await register(dora.email, "dora_again"), await register("DORA@example.test", "dora_again_2")];
  for (const res of taken) assert.deepEqual(shape(res), shape(fresh));
  assert.equal(fresh.status, 201);

  const isNotice = (m: { envelopeTo: string[]; parsed: { subject?: string | undefined } }) =>
    m.envelopeTo.includes(dora.email) && /tried to register/.test(m.parsed.subject ?? "");
  const notice = await system.smtp.waitFor(isNotice);
  assert.match(notice.parsed.text ?? "", /Hi dora,/);
  // Mail that left after the attempts proves the worker is past them.
  const marker = await signUp("dora_marker");
  await system.smtp.waitFor((m) => m.envelopeTo.includes(marker.email) && /welcome/i.test(m.parsed.subject ?? ""));
  assert.equal(system.smtp.mails.filter(isNotice).length, 1, "one notice for both attempts");
  assert.equal(
    system.smtp.mails.filter((m) => m.envelopeTo.includes(dora.email) && /code/i.test(m.parsed.subject ?? "")).length,
    1,
    "no code for the attempts: only the sign-up's",
  );
});
