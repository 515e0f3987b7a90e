import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { simpleParser } from "mailparser";
import { eventually, FROM_ADDRESS, type Harness, settled, startHarness } from "./harness.js";

interface Listed {
  id: string;
  to: string;
  subject: string;
  date: string;
}

describe("mail-worker dev mailbox (no SMTP_HOST)", () => {
  let h: Harness;
  let base: string;

  before(async () => {
    h = await startHarness({ mode: "mailbox" });
    base = `http://127.0.0.1:${h.app.port}`;
  });
  after(async () => {
    await h?.close();
  });

  it("writes each mail as an .eml file and serves it at /mailbox", async () => {
    assert.ok(h.mailboxDir);
    assert.equal(h.transport.description, `dev mailbox ${h.mailboxDir}`);
    const email = `${randomUUID()}@example.com`;
    await settled(h.app, 1, () =>
      h.publish("user.otp.send", {
        userId: randomUUID(),
        email,
        username: "ivan",
        otp: "271828",
        purpose: OtpPurpose.VERIFY_EMAIL,
        // The mail states the time left, rounded down: 30 s to spare keep it at 10 minutes.
        expiresIn: 630,
      }),
    );

    const files = (await readdir(h.mailboxDir)).filter((f) => f.endsWith(".eml"));
    assert.equal(files.length, 1);
    const file = files[0] ?? "";
    const parsed = await simpleParser(await readFile(join(h.mailboxDir, file)));
    assert.equal(parsed.subject, "Your Parley code: 271828");
    assert.equal(parsed.from?.value[0]?.address, FROM_ADDRESS);
    assert.match(parsed.text ?? "", /271828/);
    assert.match(parsed.text ?? "", /expires in 10 minutes/);
    assert.match(typeof parsed.html === "string" ? parsed.html : "", /271828/);

    const res = await fetch(`${base}/mailbox`);
    assert.equal(res.status, 200);
    const list = (await res.json()) as Listed[];
    assert.equal(list.length, 1);
    const [entry] = list;
    assert.ok(entry);
    assert.equal(entry.id, file.replace(/\.eml$/, ""));
    assert.equal(entry.to, email);
    assert.equal(entry.subject, "Your Parley code: 271828");
    assert.ok(Math.abs(Date.parse(entry.date) - Date.now()) < 60_000);

    const raw = await fetch(`${base}/mailbox/${entry.id}`);
    assert.equal(raw.status, 200);
    assert.match(raw.headers.get("content-type") ?? "", /^text\/plain/);
    const eml = await raw.text();
    assert.equal(eml, await readFile(join(h.mailboxDir, file), "utf8"));
    assert.match(eml, /Subject: Your Parley code: 271828/);
  });

  it("lists the newest mail first", async () => {
    const email = `${randomUUID()}@example.com`;
    await settled(h.app, 1, () => h.publish("user.registered", { userId: randomUUID(), email, username: "judy" }));
    const list = (await (await fetch(`${base}/mailbox`)).json()) as Listed[];
    assert.equal(list.length, 2);
    assert.equal(list[0]?.to, email);
    assert.equal(list[0]?.subject, "Welcome to Parley, judy!");
  });

  it("answers 404 for unknown and path-like mail ids", async () => {
    for (const id of ["1700000000000-deadbeef", "..%2F..%2Fetc%2Fpasswd", "../package.json", "x"]) {
      const res = await fetch(`${base}/mailbox/${id}`);
      assert.equal(res.status, 404, id);
    }
  });

  it("reports healthy while consuming", async () => {
    await eventually("a healthy worker", async () => (await fetch(`${base}/healthz`)).status === 200);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/mailbox`, { method: "POST" })).status, 405);
  });
});
