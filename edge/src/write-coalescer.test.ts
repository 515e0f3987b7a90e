import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, createServer, connect as netConnect, type Socket } from "node:net";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createWriteCoalescer } from "./realtime/write-coalescer.js";

async function socketPair(): Promise<{ out: Socket; received: () => string; close(): void }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const inbound = netConnect((server.address() as AddressInfo).port, "127.0.0.1");
  await once(inbound, "connect");
  const [out] = await accepted;
  let text = "";
  inbound.on("data", (d: Buffer) => {
    text += d.toString();
  });
  return {
    out,
    received: () => text,
    close() {
      inbound.destroy();
      out.destroy();
      server.close();
    },
  };
}

test("writes to a socket within one turn are held and leave together, in order, at the end of the turn", async () => {
  const a = await socketPair();
  const b = await socketPair();
  try {
    const writes = createWriteCoalescer();
    let writev = 0;
    const original = a.out._writev?.bind(a.out);
    assert.ok(original, "net sockets write vectors");
    a.out._writev = (chunks, cb) => {
      writev++;
      original(chunks, cb);
    };
    writes.write(a.out, Buffer.from("one,"));
    writes.write(b.out, Buffer.from("other"));
    writes.write(a.out, Buffer.from("two,"));
    writes.write(a.out, Buffer.from("three"));
    assert.equal(a.out.writableCorked, 1, "held until the turn ends");
    assert.equal(a.out.writableLength, "one,two,three".length);
    await nextTurn();
    assert.equal(a.out.writableCorked, 0);
    assert.equal(writev, 1, "three frames, one vectored write");
    while (a.received().length < 13 || b.received().length < 5) await nextTurn();
    assert.equal(a.received(), "one,two,three");
    assert.equal(b.received(), "other");
    // The next turn starts over.
    writes.write(a.out, Buffer.from("+"));
    assert.equal(a.out.writableCorked, 1);
    await nextTurn();
    assert.equal(a.out.writableCorked, 0);
  } finally {
    a.close();
    b.close();
  }
});

test("what a socket held before this turn is told apart from this turn's writes", async () => {
  const a = await socketPair();
  try {
    const writes = createWriteCoalescer();
    assert.equal(writes.queuedBefore(a.out), 0);
    writes.write(a.out, Buffer.alloc(100_000));
    writes.write(a.out, Buffer.alloc(100_000));
    assert.equal(a.out.writableLength, 200_000, "held, corked");
    assert.equal(writes.queuedBefore(a.out), 0, "none of it was there before this turn");
    await nextTurn();
    // Flushed: whatever the kernel has not taken yet is now what the socket held before.
    assert.equal(writes.queuedBefore(a.out), a.out.writableLength);
  } finally {
    a.close();
  }
});

test("a socket destroyed before the turn ends is dropped quietly", async () => {
  const a = await socketPair();
  try {
    const writes = createWriteCoalescer();
    writes.write(a.out, Buffer.from("lost"));
    a.out.destroy();
    await nextTurn();
    assert.equal(a.out.destroyed, true);
  } finally {
    a.close();
  }
});
