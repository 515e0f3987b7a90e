/**
 * Client addresses: one spelling per address, and the block an address is
 * rate limited as. An IPv6 subscriber is handed at least a /64 and may use
 * any address in it at no cost, so counting single IPv6 addresses would give
 * one client 2^64 buckets; its /64 is what identifies it. An IPv4 address is
 * scarce and counts alone.
 */
import { isIP, SocketAddress } from "node:net";
import ipaddr from "ipaddr.js";

// SocketAddress prints an IPv4-mapped address with its dotted tail.
const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/;

/**
 * `address` spelt one way: an IPv4 address (also when IPv4-mapped, as a
 * dual-stack socket or proxy reports an IPv4 client) in dotted decimal, an
 * IPv6 address in RFC 5952 form without a zone. Undefined when `address` is
 * not an IP address.
 */
export function canonicalIp(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  // isIP takes only plain dotted decimal, so an IPv4 address has one spelling already.
  if (family === 4) return address;
  const text = new SocketAddress({ address, family: "ipv6" }).address;
  return IPV4_MAPPED.exec(text)?.[1] ?? text;
}

/**
 * The per-address rate limit bucket `ip` counts in: an IPv4 address itself,
 * an IPv6 address its /64 ("2001:db8:1:2::/64"). Something that is not an IP
 * address (the transport could not tell one) is its own bucket.
 */
export function ipBucket(ip: string): string {
  const canonical = canonicalIp(ip);
  if (canonical === undefined) return ip;
  if (isIP(canonical) === 4) return canonical;
  const parts = ipaddr.IPv6.parse(canonical).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toRFC5952String()}/64`;
}
