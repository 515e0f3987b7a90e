/**
 * A transaction that spends no round trip on BEGIN or COMMIT. postgres.js's
 * sql.begin() waits for BEGIN's answer before it runs the body, and for the
 * body's last answer before it sends COMMIT: two round trips that carry no
 * work, each a wakeup of both processes (on a busy two-core machine, most of
 * a send's latency). Here BEGIN goes out with the body's first statements,
 * and the body hands its last statement to `commit`, which sends COMMIT right
 * behind it: statements sent together on one connection run in order.
 *
 * A body that returns without calling `commit` is committed after it
 * returns. A body that throws, or a statement that fails, leaves the
 * transaction rolled back before the connection is released (PostgreSQL
 * answers the COMMIT of a failed transaction by rolling it back).
 *
 * A connection lost on the way (a server restart ends every session) fails
 * the transaction with the driver's connection error (`isDatabaseUnavailable`
 * in postgres.ts), wherever the body was: the driver never writes a
 * statement to a reserved connection once the pool has taken it back, and
 * release() leaves such a connection to the pool (both from
 * patches/postgres+3.4.9.patch; unpatched, the ROLLBACK below crashed the
 * process). If the COMMIT had already been sent, it may have taken effect:
 * the caller cannot tell, so it must not simply run the work again unless
 * the work is idempotent.
 */
import type { Sql } from "@parley/shared/postgres.js";
import type { PendingQuery, ReservedSql, Row } from "postgres";

export type Commit = <T extends readonly Row[]>(last?: PendingQuery<T>) => Promise<T | undefined>;

export async function pipelinedTransaction<R>(
  sql: Sql,
  body: (tx: ReservedSql, commit: Commit) => Promise<R>,
): Promise<R> {
  const tx = await sql.reserve();
  let open = true;
  try {
    // Not awaited on its own: its answer comes back with the body's first statements'.
    const begun = tx`begin`.execute();
    begun.catch(() => {});
    const commit: Commit = async (last) => {
      // In this order on the wire; answered together.
      last?.execute();
      const committed = tx`commit`.execute();
      // Whichever fails first is thrown; the others must not surface as unhandled.
      last?.catch(() => {});
      committed.catch(() => {});
      const [rows] = await Promise.all([last, committed, begun]);
      open = false;
      return rows;
    };
    const result = await body(tx, commit);
    if (open) await commit();
    return result;
  } catch (err) {
    if (open) await tx`rollback`.catch(() => {});
    throw err;
  } finally {
    tx.release();
  }
}
