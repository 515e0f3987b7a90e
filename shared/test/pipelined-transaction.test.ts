import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pipelinedTransaction } from "../src/pipelined-transaction.js";
import { connectPostgres, isDatabaseUnavailable, type Sql } from "../src/postgres.js";
import { createTestDatabase, type TestDatabase } from "../src/testing.js";

let database: TestDatabase;
let sql: Sql;
before(async () => {
  database = await createTestDatabase();
  sql = connectPostgres(database.url, { appName: "pipelined-test", max: 4 });
  await sql`create table pipelined_probe (id int primary key, note text not null)`;
});
after(async () => {
  await sql?.end();
  await database?.drop();
});

const notes = async () =>
  (await sql<{ id: number; note: string }[]>`select id, note from pipelined_probe order by id`).map(
    (r) => `${r.id}:${r.note}`,
  );

test("statements and the commit that follows the last one make one transaction", async () => {
  const result = await pipelinedTransaction(sql, async (tx, commit) => {
    const [row] = await tx<{ n: number }[]>`select count(*)::int as n from pipelined_probe`;
    await tx`insert into pipelined_probe values (1, 'first')`;
    const inserted = await commit(tx<{ id: number }[]>`insert into pipelined_probe values (2, 'second') returning id`);
    return { before: row?.n, inserted: inserted?.map((r) => r.id) };
  });
  assert.deepEqual(result, { before: 0, inserted: [2] });
  assert.deepEqual(await notes(), ["1:first", "2:second"]);
});

test("a failing last statement rolls back everything before it and leaves the connection clean", async () => {
  await assert.rejects(
    pipelinedTransaction(sql, async (tx, commit) => {
      await tx`insert into pipelined_probe values (3, 'doomed')`;
      await commit(tx`insert into pipelined_probe values (1, 'duplicate')`);
    }),
    (err: { code?: string }) => err.code === "23505",
  );
  assert.deepEqual(await notes(), ["1:first", "2:second"], "row 3 rolled back with the failed statement");
  // Every pooled connection is usable, and none was left inside a transaction.
  const answers = await Promise.all(Array.from({ length: 20 }, () => sql<{ one: number }[]>`select 1 as one`));
  assert.ok(answers.every(([r]) => r?.one === 1));
  const [idle] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and state like 'idle in transaction%'`;
  assert.equal(idle?.n, 0);
});

test("a body that throws is rolled back; one that never calls commit is committed", async () => {
  await assert.rejects(
    pipelinedTransaction(sql, async (tx) => {
      await tx`insert into pipelined_probe values (4, 'thrown away')`;
      throw new Error("changed my mind");
    }),
    /changed my mind/,
  );
  await pipelinedTransaction(sql, async (tx) => {
    await tx`insert into pipelined_probe values (5, 'kept')`;
  });
  assert.deepEqual(await notes(), ["1:first", "2:second", "5:kept"]);
});

test("a connection lost between the round trips fails the transaction; nothing is stored and the pool goes on", async () => {
  const killer = connectPostgres(database.url, { appName: "pipelined-killer", max: 1 });
  try {
    await assert.rejects(
      pipelinedTransaction(sql, async (tx, commit) => {
        const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await tx`insert into pipelined_probe values (6, 'lost')`;
        // The server ends the session (as a restart does) while the body awaits something else.
        await killer`select pg_terminate_backend(${row?.pid ?? 0})`;
        const gone = async () =>
          (await killer`select 1 from pg_stat_activity where pid = ${row?.pid ?? 0}`).length === 0;
        while (!(await gone())) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        await commit(tx`insert into pipelined_probe values (7, 'after the loss')`);
      }),
      isDatabaseUnavailable,
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await notes(), ["1:first", "2:second", "5:kept"]);
    const answers = await Promise.all(Array.from({ length: 20 }, () => sql<{ one: number }[]>`select 1 as one`));
    assert.ok(answers.every(([r]) => r?.one === 1));
  } finally {
    await killer.end();
  }
});
