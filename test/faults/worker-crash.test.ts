/**
 * Fault: the mail worker is SIGKILLed in the middle of a backlog (OTP mails
 * and notifications queued while it was down), after its first few mails.
 * A new worker takes over: no mail is lost and none is sent twice.
 *
 * The kill comes while the SMTP server holds every pooled connection at
 * MAIL FROM and every mail it accepted is recorded: the one moment no
 * worker can make safe is between the server accepting a mail and the
 * worker's commit, a few milliseconds, and that copy would keep its
 * Message-ID (see mail-worker's send-event-mail.ts).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { waitUntil } from "../support/system.js";
import { api, signUp } from "../support/users.js";
import {
  assertNotifiedOnceEach,
  assertOneOtpEach,
  type FaultSystem,
  otpFor,
  POOL_SIZE,
  startFaultSystem,
  waitForMails,
  waitForNotifications,
  withLogs,
  workerHealth,
  workerIdle,
} from "./helpers.js";

let fs: FaultSystem;

before(async () => {
  fs = await startFaultSystem();
});

after(async () => {
  fs?.system.smtp.stall(false);
  await fs?.close();
});

test("SIGKILL of the mail worker mid-batch loses no mail and doubles none", () =>
  withLogs(fs, async () => {
    const { system } = fs;
    const { smtp } = system;
    const alice = await signUp(system, "alice");
    const bob = await signUp(system, "bob");
    const carol = await signUp(system, "carol");
    const room = await api(
      system,
      "POST",
      "/api/chats/rooms",
      { name: "crash", memberIds: [bob.id, carol.id] },
      alice.token,
    );
    assert.equal(room.status, 201, JSON.stringify(room.json));
    const roomId = (room.json.room as { id: string }).id;
    await waitUntil(async () => (await workerHealth(fs.workerUrl)).openDigests === 0, 10_000);

    // A backlog builds up while no worker runs.
    await system.stop("mail-worker");
    const registered = [alice.email, bob.email, carol.email];
    for (let i = 0; i < 20; i++) {
      const email = `backlog${i}-${randomUUID().slice(0, 8)}@example.test`;
      const reg = await api(system, "POST", "/api/users/register", {
        email,
        username: `backlog${i}x${randomUUID().slice(0, 6)}`,
        password: "correct horse battery",
      });
      assert.equal(reg.status, 201, JSON.stringify(reg.json));
      registered.push(email);
    }
    const texts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const text = `backlog message ${i} ${randomUUID()}`;
      const sent = await api(system, "POST", "/api/chats/messages", { roomId, message: text }, alice.token);
      assert.equal(sent.status, 201, JSON.stringify(sent.json));
      texts.push(text);
    }

    // The worker starts on the backlog; after its first few mails the SMTP server stops answering.
    const before = smtp.mails.length;
    await fs.startWorker();
    await waitUntil(() => smtp.mails.length >= before + 3, 30_000);
    smtp.stall(true);
    await waitUntil(async () => {
      const health = await workerHealth(fs.workerUrl);
      return smtp.stalled() >= POOL_SIZE && health.mailsSent === smtp.mails.length - before;
    }, 30_000);
    const sentByFirst = smtp.mails.length - before;
    assert.ok(sentByFirst < registered.length, "killed mid-batch, with mail still to send");
    await system.stop("mail-worker", "SIGKILL");
    smtp.stall(false);

    await fs.startWorker();
    await waitForMails(smtp, registered.map(otpFor));
    for (const who of [bob, carol]) await waitForNotifications(smtp, who.email, texts.length);
    await workerIdle(fs);

    assertOneOtpEach(smtp.mails, registered);
    assertNotifiedOnceEach(smtp.mails, bob.email, texts);
    assertNotifiedOnceEach(smtp.mails, carol.email, texts);
  }));
