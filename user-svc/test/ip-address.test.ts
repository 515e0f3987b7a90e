/** One spelling per client address, and the bucket an address is rate limited in. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalIp, ipBucket } from "../src/domain/ip-address.js";
import { forwardedClient, peerAddress } from "../src/transport/client-info.js";

test("an address has one spelling: IPv4-mapped is IPv4, IPv6 is RFC 5952", () => {
  assert.equal(canonicalIp("192.0.2.1"), "192.0.2.1");
  assert.equal(canonicalIp("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(canonicalIp("::FFFF:C000:0201"), "192.0.2.1");
  assert.equal(canonicalIp("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  assert.equal(canonicalIp("fe80::1%eth0"), "fe80::1");
  assert.equal(canonicalIp("::1"), "::1");
  for (const notAnAddress of ["", "unknown-peer", "192.0.2.01", "2001:db8::1::2", "[::1]"]) {
    assert.equal(canonicalIp(notAnAddress), undefined, notAnAddress);
  }
});

test("an IPv4 address is its own bucket, however it is spelt", () => {
  assert.equal(ipBucket("203.0.113.9"), "203.0.113.9");
  assert.equal(ipBucket("::ffff:203.0.113.9"), "203.0.113.9");
  assert.equal(ipBucket("::ffff:cb00:7109"), "203.0.113.9");
  assert.notEqual(ipBucket("203.0.113.10"), ipBucket("203.0.113.9"));
});

test("an IPv6 address counts by its /64, however it is spelt", () => {
  const bucket = "2001:db8:1:2::/64";
  for (const address of [
    "2001:db8:1:2::1",
    "2001:db8:1:2:ffff:ffff:ffff:ffff",
    "2001:0DB8:0001:0002:0000:0000:0000:0001",
    "2001:db8:1:2:abcd::9",
    "2001:db8:1:2:0:0:192.0.2.1",
    "2001:db8:1:2::1%eth0",
  ]) {
    assert.equal(ipBucket(address), bucket, address);
  }
  assert.equal(ipBucket("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  assert.equal(ipBucket("2001:db8::1"), "2001:db8::/64");
  assert.equal(ipBucket("2001:db8:0:0:1::"), "2001:db8::/64");
  assert.equal(ipBucket("::1"), "::/64");
  assert.equal(ipBucket("::1.2.3.4"), "::/64");
  assert.equal(ipBucket("fe80:1:2:3:4:5:6:7"), "fe80:1:2:3::/64");
});

test("something that is not an address stays its own bucket", () => {
  assert.equal(ipBucket("unknown-peer"), "unknown-peer");
});

test("the transport hands the domain canonical addresses", () => {
  assert.equal(peerAddress("127.0.0.1:5000"), "127.0.0.1");
  assert.equal(peerAddress("::ffff:127.0.0.1:5000"), "127.0.0.1");
  assert.equal(peerAddress("2001:DB8:0:0::1:5000"), "2001:db8::1");
  const forwarded = (ip: string) =>
    forwardedClient(new Headers({ "x-client-ip": ip, "x-parley-peer-address": "10.0.0.1" })).ip;
  assert.equal(forwarded("::ffff:198.51.100.7"), "198.51.100.7");
  assert.equal(forwarded(" 2001:DB8::0:1 "), "2001:db8::1");
  assert.equal(forwarded("not an address"), "10.0.0.1");
});
