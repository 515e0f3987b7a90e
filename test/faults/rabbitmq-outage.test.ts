/**
 * Fault: RabbitMQ stops (rabbitmqctl stop_app) while users register and
 * chat through the edge's REST API, and comes back. Every request succeeds
 * meanwhile (events wait in the outboxes), and afterwards every OTP and
 * every notification is mailed exactly once.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { api, signUp } from "../support/users.js";
import {
  assertNotifiedOnceEach,
  assertOneOtpEach,
  ensureBrokerRunning,
  type FaultSystem,
  isOtpMail,
  otpFor,
  startBroker,
  startFaultSystem,
  stopBroker,
  waitForMails,
  waitForNotifications,
  withLogs,
  workerIdle,
} from "./helpers.js";

let fs: FaultSystem;

before(async () => {
  fs = await startFaultSystem();
});

after(async () => {
  await ensureBrokerRunning();
  await fs?.close();
});

test("a RabbitMQ outage during sign-ups and chat loses no mail and doubles none", () =>
  withLogs(fs, async () => {
    const { system } = fs;
    const alice = await signUp(system, "alice");
    const bob = await signUp(system, "bob");
    const room = await api(system, "POST", "/api/chats/rooms", { name: "outage", memberIds: [bob.id] }, alice.token);
    assert.equal(room.status, 201, JSON.stringify(room.json));
    const roomId = (room.json.room as { id: string }).id;

    const registered: string[] = [alice.email, bob.email];
    const texts: string[] = [];
    let stop = false;
    let round = 0;
    // Requests keep coming before, during and after the outage.
    const traffic = (async () => {
      while (!stop) {
        round++;
        const email = `user${round}-${randomUUID().slice(0, 8)}@example.test`;
        const reg = await api(system, "POST", "/api/users/register", {
          email,
          username: `user${round}x${randomUUID().slice(0, 6)}`,
          password: "correct horse battery",
        });
        assert.equal(reg.status, 201, JSON.stringify(reg.json));
        registered.push(email);
        const text = `message ${round} ${randomUUID()}`;
        const sent = await api(system, "POST", "/api/chats/messages", { roomId, message: text }, alice.token);
        assert.equal(sent.status, 201, JSON.stringify(sent.json));
        texts.push(text);
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    try {
      await waitRounds(() => round, 3);
      await stopBroker();
      const roundsBefore = round;
      await waitRounds(() => round, roundsBefore + 5);
      await startBroker();
      await waitRounds(() => round, round + 3);
    } finally {
      stop = true;
      await traffic;
    }

    await waitForMails(system.smtp, registered.map(otpFor));
    await waitForNotifications(system.smtp, bob.email, texts.length);
    await workerIdle(fs);

    const mails = system.smtp.mails;
    assertOneOtpEach(mails, registered);
    assertNotifiedOnceEach(mails, bob.email, texts);
    const toAlice = mails.filter((m) => m.envelopeTo.includes(alice.email) && !isOtpMail(m));
    assert.ok(
      toAlice.every((m) => /^Welcome/.test(m.parsed.subject ?? "")),
      "alice was never notified of her own messages",
    );
  }));

async function waitRounds(current: () => number, target: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (current() < target) {
    if (Date.now() > deadline) throw new Error(`traffic stalled at round ${current()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
