/**
 * Who the client is, from gRPC metadata. The edge forwards the browser's
 * address and user agent; callers that reach user-svc directly (tools, tests,
 * other services) are identified by their TCP peer address instead, never by
 * a shared "unknown" bucket that one abuser could fill for everyone.
 *
 * The forwarded headers are believed only on a call that carries a service
 * token (SERVICE_TOKEN_HEADER): anyone who can reach the gRPC port could
 * otherwise pick a fresh address per call and never meet the per-address
 * limits. A token that does not verify refuses the call rather than falling
 * back to the peer: a misconfigured edge (another JWT_SECRET) would otherwise
 * put every user behind it into the edge's one address bucket, silently.
 */
import type { Interceptor } from "@connectrpc/connect";
import { SERVICE_TOKEN_HEADER, type TokenKeys } from "@parley/shared/auth.js";
import { grpcPeer } from "@parley/shared/grpc-server.js";
import type { ClientInfo } from "../domain/client-info.js";
import { canonicalIp } from "../domain/ip-address.js";
import { serviceTokenInvalid } from "../errors.js";

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

/** What the connection itself says: its peer address and the gRPC client's own user agent. */
function directClient(headers: Headers): ClientInfo {
  return {
    ip: headers.get(PEER_ADDRESS_HEADER) || "unknown-peer",
    userAgent: (headers.get("user-agent") ?? "").slice(0, MAX_USER_AGENT_LENGTH),
  };
}

/** The client an edge vouches for; what it leaves out (or an address that is not one) falls back to the connection's. */
export function forwardedClient(headers: Headers): ClientInfo {
  const direct = directClient(headers);
  // One spelling per address, so that "::FFFF:192.0.2.1" and "192.0.2.1" are one client to the limits and the session list.
  const ip = canonicalIp(headers.get(CLIENT_IP_HEADER)?.trim() ?? "") ?? direct.ip;
  const userAgent = headers.get(CLIENT_USER_AGENT_HEADER)?.slice(0, MAX_USER_AGENT_LENGTH) ?? direct.userAgent;
  return { ip, userAgent };
}

/** Reads the client of a call: the forwarded one from a caller with a valid service token, else the connection's. */
export function clientInfoReader(keys: Pick<TokenKeys, "verifyService">): (headers: Headers) => Promise<ClientInfo> {
  return async (headers) => {
    const token = headers.get(SERVICE_TOKEN_HEADER);
    if (token === null) return directClient(headers);
    // Refused rather than ignored (see the module comment).
    await keys.verifyService(token).catch(() => {
      throw serviceTokenInvalid();
    });
    return forwardedClient(headers);
  };
}
