/** Who is on the other end of a call, as far as the transport can tell; for rate limits and the session list. */
export interface ClientInfo {
  /** The end client's address (forwarded by the edge), else the TCP peer's. Never empty. */
  ip: string;
  /** The end client's user agent (forwarded by the edge), else the gRPC caller's; may be empty. */
  userAgent: string;
}
