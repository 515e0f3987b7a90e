/**
 * What a lost PostgreSQL connection does to the driver (postgres.js, patched:
 * patches/postgres+3.4.9.patch). Unpatched, each of these crashed the process
 * from a timer (`Cannot read properties of null (reading 'write')`), left a
 * query unanswered for ever, or left a connection that could never connect
 * again: what a PostgreSQL restart did to chat-svc's sends.
 *
 * Connections are lost by ending our own backend (pg_terminate_backend) or by
 * destroying our own socket to it (the driver's `socket` option), so the
 * shared server is never disturbed.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { after, before, test } from "node:test";
import postgres from "postgres";
import { connectPostgres, isDatabaseUnavailable, type Sql } from "../src/postgres.js";
import { createTestDatabase, type TestDatabase } from "../src/testing.js";

let database: TestDatabase;
let killer: Sql;
before(async () => {
  database = await createTestDatabase();
  killer = postgres(database.url, { max: 1, onnotice: () => {} });
});
after(async () => {
  await killer?.end();
  await database?.drop();
});

/** A pool whose sockets the test holds, to destroy one at a moment of its choosing. */
function poolWithSockets(max: number) {
  const url = new URL(database.url);
  const sockets: Socket[] = [];
  // `socket` is a postgres.js option its type declarations leave out.
  const options: postgres.Options<Record<string, never>> & { socket: () => Socket } = {
    max,
    onnotice: () => {},
    connect_timeout: 2,
    socket: () => {
      const socket = connect(Number(url.port || 5432), url.hostname);
      sockets.push(socket);
      return socket;
    },
  };
  return { sql: postgres(database.url, options), lastSocket: () => sockets.at(-1) as Socket };
}

/** Ends our own backend and waits until the server has let it go. */
async function terminate(pid: number): Promise<void> {
  await killer`select pg_terminate_backend(${pid})`;
  for (;;) {
    const [row] = await killer<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
    if (row?.n === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What `promise` failed with (undefined: it did not), handled at once so no rejection goes unhandled meanwhile. */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

/** A few turns of the event loop: writes the driver queued behind setImmediate have run. */
const settle = () => new Promise((r) => setTimeout(r, 100));

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms)),
  ]);

test("a query on a reserved connection whose backend ended rejects, and the process lives on", async () => {
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  try {
    const tx = await sql.reserve();
    const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await terminate(row?.pid ?? 0);
    await settle();
    await assert.rejects(within(tx`select 1`.execute(), 2_000, "the query"), isDatabaseUnavailable);
    await settle();
    tx.release();
    // Released after its loss, the connection was handed to the pool as if live, and the pool wrote to it.
    const answers = await within(
      Promise.all(Array.from({ length: 6 }, () => sql<{ one: number }[]>`select 1 as one`)),
      5_000,
      "queries after the release",
    );
    assert.ok(answers.every(([r]) => r?.one === 1));
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("a transaction whose connection is lost mid-statement rejects, and the process lives on", async () => {
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  try {
    const failed = sql.begin(async (tx) => {
      const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const sleeping = tx`select pg_sleep(5)`.execute();
      await terminate(row?.pid ?? 0);
      await sleeping;
    });
    // The ROLLBACK the driver sends after the failure went to the closed connection.
    await assert.rejects(within(failed, 5_000, "the transaction"), isDatabaseUnavailable);
    await settle();
    const [row] = await within(sql<{ one: number }[]>`select 1 as one`.execute(), 5_000, "a query after");
    assert.equal(row?.one, 1);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("a query sent between a socket error and its close is answered", async () => {
  const { sql, lastSocket } = poolWithSockets(1);
  try {
    const tx = await sql.reserve();
    await tx`select 1`;
    const slow = tx`select pg_sleep(5)`.execute();
    // What a catch block does: roll back once the statement failed.
    const rollback = slow.then(
      () => assert.fail("the statement outlived its connection"),
      () => tx`rollback`.execute(),
    );
    lastSocket().destroy(Object.assign(new Error("connection reset"), { code: "ECONNRESET" }));
    await assert.rejects(slow, isDatabaseUnavailable);
    await assert.rejects(within(rollback, 2_000, "the rollback"), isDatabaseUnavailable);
    tx.release();
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("a socket closed with a write still queued leaves a connection that connects again", async () => {
  const { sql, lastSocket } = poolWithSockets(1);
  try {
    await sql`select 1`;
    const socket = lastSocket();
    // From a setImmediate callback, the query's write is queued for the next
    // turn, and the socket's close is handled in this one, before it.
    const { lost } = await new Promise<{ lost: Promise<unknown> }>((resolve) =>
      setImmediate(() => {
        resolve({ lost: failure(sql`select 2`.execute()) });
        socket.destroy();
      }),
    );
    assert.ok(isDatabaseUnavailable(await lost), "the query is failed with the connection");
    // Unpatched, the queued write's timer was cancelled but never cleared, so
    // no write was ever scheduled again: the new socket never got its startup
    // message, and every query failed with CONNECT_TIMEOUT.
    const [row] = await within(sql<{ one: number }[]>`select 1 as one`.execute(), 5_000, "a query after");
    assert.equal(row?.one, 1);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("a reserve() waiting when a connection is lost gets that connection once it is back", async () => {
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const sleeping = failure(sql`select pg_sleep(5)`.execute());
    await new Promise((r) => setTimeout(r, 50));
    // Waits for the pool's one connection, which the server then ends.
    const reserving = sql.reserve();
    await terminate(row?.pid ?? 0);
    assert.ok(isDatabaseUnavailable(await sleeping), "the query is failed with the connection");
    // Unpatched, the reconnect took the request off the queue to connect for it, and nothing handed it over.
    const tx = await within(reserving, 5_000, "the reserve()");
    const [one] = await tx<{ one: number }[]>`select 1 as one`;
    assert.equal(one?.one, 1);
    tx.release();
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("a reserve() that could not connect leaves nothing behind that takes the next connection", async () => {
  const url = new URL(database.url);
  let refuse = true;
  // The first connection attempt goes to a port nothing listens on (the database is down).
  const options: postgres.Options<Record<string, never>> & { socket: () => Socket } = {
    max: 1,
    onnotice: () => {},
    backoff: () => 0,
    socket: () => {
      const port = refuse ? 1 : Number(url.port || 5432);
      refuse = false;
      return connect(port, url.hostname);
    },
  };
  const sql = postgres(database.url, options);
  try {
    const reserving = sql.reserve();
    // Queued behind the reserve() while the pool's one connection is being made.
    const query = sql<{ one: number }[]>`select 1 as one`.execute();
    await assert.rejects(within(reserving, 5_000, "the failed reserve()"), isDatabaseUnavailable);
    const [one] = await within(query, 5_000, "the query behind it");
    assert.equal(one?.one, 1);
    const tx = await within(sql.reserve(), 5_000, "a reserve() after");
    tx.release();
  } finally {
    await sql.end({ timeout: 1 });
  }
});

/** A TCP proxy to the test server on a port of its own, which the test can take down and bring back. */
async function startProxy() {
  const target = new URL(database.url);
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const url = new URL(database.url);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    /** Like a database going away: connections cut, new ones refused. */
    async down() {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    },
    async up() {
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

test("after an outage of some seconds, the pool is back within about a second of the database", async () => {
  const proxy = await startProxy();
  const sql = connectPostgres(proxy.url, { appName: "reconnect-test", max: 2 });
  try {
    await sql`select 1`;
    await proxy.down();
    // Queries keep coming in the outage: each failed attempt lengthens the driver's wait before the next.
    const outageEnds = Date.now() + 4_000;
    while (Date.now() < outageEnds) {
      await sql`select 1`.catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
    await proxy.up();
    const back = Date.now();
    for (;;) {
      const ok = await sql`select 1`.then(
        () => true,
        () => false,
      );
      if (ok) break;
      assert.ok(Date.now() - back < 5_000, "no query got through within 5 s of the database being back");
      await new Promise((r) => setTimeout(r, 20));
    }
    // The driver's own backoff (up to 20 s) made this 5 s or more.
    assert.ok(Date.now() - back < 2_000, `the first query got through ${Date.now() - back} ms after`);
  } finally {
    await sql.end({ timeout: 1 });
    await proxy.close().catch(() => {});
  }
});
