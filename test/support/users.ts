/** Signs a user up through the edge's REST API, reading the OTP from the SMTP server. */
import assert from "node:assert/strict";
import { createParleyClient, memoryRefreshTokenStore, type ParleyClient, refreshTokenStrategy } from "@parley/client";
import WebSocket from "ws";
import type { RunningSystem } from "./system.js";

export async function api(
  system: Pick<RunningSystem, "edgeUrl">,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${system.edgeUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export function otpFrom(text: string | undefined): string {
  const match = /\b(\d{6})\b/.exec(text ?? "");
  assert.ok(match, `no 6-digit code in mail: ${text}`);
  return match[1] as string;
}

export async function signUp(
  system: RunningSystem,
  username: string,
): Promise<{ email: string; username: string; token: string; refreshToken: string; id: string }> {
  const email = `${username}@example.test`;
  const reg = await api(system, "POST", "/api/users/register", { email, username, password: "correct horse battery" });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const mail = await system.smtp.waitFor((m) => m.envelopeTo.includes(email));
  assert.ok(mail.parsed.html, "OTP mail has an HTML part");
  const code = otpFrom(mail.parsed.text);
  assert.match(String(mail.parsed.html), new RegExp(code));
  const verified = await api(system, "POST", "/api/users/verify-otp", { email, otp: code });
  assert.equal(verified.status, 200, JSON.stringify(verified.json));
  const user = verified.json.user as { id: string; username: string };
  assert.equal(user.username, username);
  return {
    email,
    username,
    token: verified.json.accessToken as string,
    refreshToken: verified.json.refreshToken as string,
    id: user.id,
  };
}

/** The SDK signed in as a user `signUp` returned, against the system's edge. */
export function sdkFor(
  system: Pick<RunningSystem, "edgeUrl">,
  user: { token: string; refreshToken: string },
): ParleyClient {
  return createParleyClient({
    baseUrl: system.edgeUrl,
    WebSocket,
    auth: {
      // user-svc's default access token life; the SDK refreshes before it ends.
      grant: { accessToken: user.token, expiresIn: 900 },
      refresh: refreshTokenStrategy({ baseUrl: system.edgeUrl, store: memoryRefreshTokenStore(user.refreshToken) }),
    },
  });
}
