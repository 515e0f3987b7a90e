/**
 * What the edge tells a service about the client behind a call: its bearer
 * token (the service verifies it) and, for rate limits and session records,
 * its address and user agent. Nothing else from the client is passed on.
 * The address is Fastify's `req.ip`: the socket's peer, or what
 * X-Forwarded-For says only when TRUST_PROXY trusts the peer.
 */
import type { CallOptions } from "@connectrpc/connect";

export const CLIENT_IP_HEADER = "x-client-ip";
export const CLIENT_USER_AGENT_HEADER = "x-client-user-agent";

export interface ClientContext {
  authorization?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** An IPv4 client on a dual-stack socket ("::ffff:10.0.0.1") is named by its IPv4 address. */
function plainAddress(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

export function clientHeaders(client: ClientContext): Headers {
  const headers = new Headers();
  if (client.authorization) headers.set("authorization", client.authorization);
  if (client.ip) headers.set(CLIENT_IP_HEADER, plainAddress(client.ip));
  if (client.userAgent) headers.set(CLIENT_USER_AGENT_HEADER, client.userAgent.slice(0, 512));
  return headers;
}

export function clientCall(client: ClientContext): CallOptions {
  return { headers: clientHeaders(client) };
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}
