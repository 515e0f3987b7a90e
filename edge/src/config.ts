import { statSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ConfigOf, common, int, invalid, loadConfig, optionalStr, port, str, url } from "@parley/shared/config.js";

/** Where `npm run build -w web` puts the web app. */
export const DEFAULT_WEB_DIST_DIR = fileURLToPath(new URL("../../web/dist", import.meta.url));
const DAY = 24 * 60 * 60;

export const configSpec = {
  ...common,
  PORT: port(3000),
  HOST: str({ default: "0.0.0.0" }),
  USER_SVC_URL: url({ default: "http://127.0.0.1:50051", protocols: ["http", "https"] }),
  CHAT_SVC_URL: url({ default: "http://127.0.0.1:50052", protocols: ["http", "https"] }),
  // Mints the edge's own service token and verifies sockets' tokens (REST and Connect calls are verified by the services).
  JWT_SECRET: str({ minLength: 32 }),
  // Where sessions live: a socket is accepted only while its token's session is (see shared/sessions.ts).
  REDIS_URL: url({ default: "redis://127.0.0.1:6379", protocols: ["redis", "rediss"] }),
  REDIS_KEY_PREFIX: str({ default: "parley:" }),
  // At least 64 KiB: half of it must pass Node's 16 KiB write buffer for backlog pacing (socket-session.ts).
  WS_MAX_BUFFERED_BYTES: int({ default: 1024 * 1024, min: 64 * 1024 }),
  // Seconds between `heartbeat` frames (and protocol pings) on every socket.
  HEARTBEAT_INTERVAL: int({ default: 25, min: 1, max: 3600 }),
  // Per socket: frames per second that act (send, edit, delete, react, unreact, typing, markRead), and the burst.
  WS_SEND_RATE: int({ default: 20, min: 1, max: 10_000 }),
  WS_SEND_BURST: int({ default: 40, min: 1, max: 100_000 }),
  // Per socket: `authenticate` frames at once, then one per interval (seconds); each costs a Redis session lookup.
  WS_AUTHENTICATE_BURST: int({ default: 5, min: 1, max: 1_000 }),
  WS_AUTHENTICATE_INTERVAL: int({ default: 10, min: 1, max: 3600 }),
  // Comma-separated browser origins allowed to call the edge; unset allows any origin outside production.
  CORS_ORIGINS: optionalStr(),
  // Whose X-Forwarded-For to believe: unset/"false" nobody (the socket's peer is the client), "true" any
  // peer, or a comma-separated list of proxy addresses/CIDRs (or loopback, linklocal, uniquelocal).
  TRUST_PROXY: trustProxy,
  // The built web app served at / (absolute, or relative to the working directory). A directory that does not
  // exist yet is allowed: the edge starts and answers the app's pages 503 until it is built.
  WEB_DIST_DIR: directory(DEFAULT_WEB_DIST_DIR),
  // The web session cookie's Secure attribute: unset means on in production only (browsers treat
  // http://localhost as secure, so "true" also works there).
  WEB_COOKIE_SECURE: optionalBool,
  // Seconds the web session cookie is kept; match user-svc's SESSION_TTL (a session outliving its cookie is
  // lost to the browser, a cookie outliving its session is refused and cleared at the next refresh).
  WEB_COOKIE_MAX_AGE: int({ default: 30 * DAY, min: 60, max: 365 * DAY }),
};

/** Fastify's `trustProxy` option: false, true or the trusted proxies. */
export type TrustProxy = boolean | string[];

const PROXY_PRESETS = new Set(["loopback", "linklocal", "uniquelocal"]);

export type EdgeConfig = ConfigOf<typeof configSpec>;

function isAddressOrCidr(entry: string): boolean {
  if (PROXY_PRESETS.has(entry)) return true;
  const [address, bits, ...rest] = entry.split("/");
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

/** TRUST_PROXY as Fastify's option, or a problem that completes "TRUST_PROXY …". */
export function parseTrustProxy(raw: string | undefined): { value: TrustProxy } | { problem: string } {
  const value = raw?.trim() ?? "";
  if (value === "" || value.toLowerCase() === "false") return { value: false };
  if (value.toLowerCase() === "true") return { value: true };
  const entries = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const bad = entries.filter((e) => !isAddressOrCidr(e));
  if (bad.length > 0 || entries.length === 0) {
    return {
      problem: `must be "true", "false" or a list of proxy addresses/CIDRs (got "${raw}")`,
    };
  }
  return { value: entries };
}

function optionalBool(raw: string | undefined): boolean | undefined {
  const value = raw?.trim().toLowerCase() ?? "";
  if (value === "") return undefined;
  if (value === "true" || value === "false") return value === "true";
  throw invalid(`must be "true" or "false" (got "${raw}")`);
}

/** An absolute directory path; it may not exist yet, but it may not be something else. */
function directory(fallback: string) {
  return (raw: string | undefined): string => {
    const path = resolve(raw?.trim() || fallback);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat !== undefined && !stat.isDirectory()) throw invalid(`must be a directory (got "${path}", not one)`);
    return path;
  };
}

function trustProxy(raw: string | undefined): TrustProxy {
  const parsed = parseTrustProxy(raw);
  if ("problem" in parsed) throw invalid(parsed.problem);
  return parsed.value;
}

export function loadEdgeConfig(env: Record<string, string | undefined> = process.env): EdgeConfig {
  return loadConfig(configSpec, env);
}
