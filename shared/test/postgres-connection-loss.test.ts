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
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import postgres from "postgres";
import { isDatabaseUnavailable, type Sql } from "../src/postgres.js";
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
        resolve({ lost: sql`select 2`.execute() });
        socket.destroy();
      }),
    );
    await assert.rejects(lost, isDatabaseUnavailable);
    // Unpatched, the queued write's timer was cancelled but never cleared, so
    // no write was ever scheduled again: the new socket never got its startup
    // message, and every query failed with CONNECT_TIMEOUT.
    const [row] = await within(sql<{ one: number }[]>`select 1 as one`.execute(), 5_000, "a query after");
    assert.equal(row?.one, 1);
  } finally {
    await sql.end({ timeout: 1 });
  }
});
