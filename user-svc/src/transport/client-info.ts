/**
 * Who the client is, from gRPC metadata. The edge forwards the browser's
 * address and user agent; callers that reach user-svc directly (tools, tests,
 * other services) are identified by their TCP peer address instead, never by
 * a shared "unknown" bucket that one abuser could fill for everyone.
 *
 * x-client-ip is trusted as sent: user-svc is only reachable by the edge
 * and other internal services. A direct caller can pick its IP bucket that
 * way, but not escape the per-account limits.
 */
import type { Interceptor } from "@connectrpc/connect";
import { grpcPeer } from "@parley/shared/grpc-server.js";
import type { ClientInfo } from "../domain/client-info.js";
import { canonicalIp } from "../domain/ip-address.js";

export const CLIENT_IP_HEADER = "x-client-ip";
export const CLIENT_USER_AGENT_HEADER = "x-client-user-agent";
// Written by withPeerAddress from the connection itself, replacing anything a caller sent under this name.
const PEER_ADDRESS_HEADER = "x-parley-peer-address";

const MAX_USER_AGENT_LENGTH = 512;

/** "127.0.0.1:5000" / "::1:5000" (grpc-js getPeer(), no brackets) → the address alone. */
export function peerAddress(peer: string): string {
  // An IPv4 client on a dual-stack socket comes out in its plain IPv4 form.
  return canonicalIp(peer.replace(/:\d+$/, "")) ?? peer;
}

/**
 * Puts the call's peer address into its metadata (an interceptor in
 * grpcHandlers' chain). Connect's HandlerContext has no peer, so it is passed
 * to clientInfo through the one thing it does carry.
 */
export const withPeerAddress: Interceptor = (next) => async (req) => {
  const peer = req.contextValues.get(grpcPeer);
  if (peer === undefined) req.header.delete(PEER_ADDRESS_HEADER);
  else req.header.set(PEER_ADDRESS_HEADER, peerAddress(peer));
  return next(req);
};

export function clientInfo(headers: Headers): ClientInfo {
  const forwarded = headers.get(CLIENT_IP_HEADER)?.trim() ?? "";
  // One spelling per address, so that "::FFFF:192.0.2.1" and "192.0.2.1" are one client to the limits and the session list.
  const ip = canonicalIp(forwarded) ?? (headers.get(PEER_ADDRESS_HEADER) || "unknown-peer");
  const userAgent = (headers.get(CLIENT_USER_AGENT_HEADER) ?? headers.get("user-agent") ?? "").slice(
    0,
    MAX_USER_AGENT_LENGTH,
  );
  return { ip, userAgent };
}
