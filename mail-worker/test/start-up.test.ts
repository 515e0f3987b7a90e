/**
 * The worker as an operator starts it: a bad configuration stops the process
 * before it connects to anything, naming every bad variable.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

/** Runs the worker as `npm start` does, with exactly `env` (no variable of this process leaks in). */
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "mail-worker/src/main.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("start-up", () => {
  it("refuses production without SMTP_HOST, and a malformed sender or half a login, all at once", async () => {
    const { code, stderr } = await start({
      NODE_ENV: "production",
      JWT_SECRET: "mail-worker-test-secret-0123456789abcdef",
      FROM_EMAIL: "Parley <noreply>",
      SMTP_PASSWORD: "secret",
      // Unreachable: had the configuration passed, the worker would fail later, and differently.
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere",
      RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:1",
    });
    assert.equal(code, 1);
    assert.equal(
      stderr,
      "mail-worker: Invalid configuration:\n" +
        '  - FROM_EMAIL must be one email address, such as noreply@example.com or "Parley <noreply@example.com>" (got "Parley <noreply>")\n' +
        "  - SMTP_USER is required when SMTP_PASSWORD is set\n" +
        "  - SMTP_HOST is required when NODE_ENV is production: without it no mail is sent, and every mail " +
        "(sign-in codes included) is kept in the dev mailbox, readable by anyone at GET /mailbox\n",
    );
  });
});
