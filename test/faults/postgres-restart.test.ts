/**
 * Fault: PostgreSQL restarts (`pg_ctl restart -m fast`, every session ended)
 * while many sockets send, several times, then stays down for a while. The
 * whole system runs against a PostgreSQL of the test's own
 * (support/private-postgres.ts): the machine's shared server is never touched.
 *
 * What must hold: no process dies; every send is answered, an ack or
 * `unavailable` (never silence, never another error), and a send retried with
 * its clientMessageId until acked is stored exactly once, gapless in its room;
 * sending resumes within seconds of the database being back; while the
 * database is down chat-svc's health says NOT_SERVING (the edge's /healthz
 * shows it), and SERVING again after; the outbox relay drains what piled up.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import postgres from "postgres";
import { UNLIMITED_BUDGETS } from "../../chat-svc/test/unlimited-budgets.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
import { type RunningSystem, startSystem, waitUntil } from "../support/system.js";
import { api, signUp } from "../support/users.js";
import { openSocket, type TestSocket } from "../support/ws-client.js";

/** A send not answered within this long counts as lost in a stalled send path. */
const ANSWER_WITHIN_MS = 10_000;
/** How soon after the database is back the first new message must be acked. */
const RESUME_WITHIN_MS = 10_000;
const SEND_INTERVAL_MS = 50;
const RETRY_AFTER_MS = 200;
const RESTARTS = 3;
/** After stop(), how long the send under way may take to be acked before it counts as never acked. */
const FINISH_WITHIN_MS = 30_000;

let pg: PrivatePostgres;
let system: RunningSystem;

before(async () => {
  pg = await startPrivatePostgres();
  // Two sockets per user, each sending as fast as its socket may: twice a user's send budget, which is
  // tested on its own (chat-svc/test/budgets.test.ts); here every refusal must be the database's.
  system = await startSystem({ postgresUrl: pg.url, env: { "chat-svc": UNLIMITED_BUDGETS } });
});

after(async () => {
  await system?.close();
  await pg?.close();
});

interface Acked {
  id: string;
  seq: string;
  roomId: string;
  at: number;
}

/** One socket sending to one room, one message at a time, retrying each with its clientMessageId until acked. */
function startSender(socket: TestSocket, roomId: string, label: string) {
  const acked = new Map<string, Acked>();
  const problems: string[] = [];
  const answers = { unavailable: 0 };
  let stopping = false;
  let giveUpAt = Number.POSITIVE_INFINITY;
  let ref = 0;
  const loop = (async () => {
    for (let n = 0; !stopping; n++) {
      const clientMessageId = `${label}-${n}`;
      for (;;) {
        if (Date.now() > giveUpAt) {
          problems.push(`${clientMessageId}: not acked within ${FINISH_WITHIN_MS} ms of the end`);
          return;
        }
        const r = `${label}:${ref++}`;
        socket.send({ ref: r, send: { roomId, text: `message ${clientMessageId}`, clientMessageId } });
        const answer = await socket.next((f) => f.ref === r, ANSWER_WITHIN_MS).catch(() => undefined);
        if (answer === undefined) {
          problems.push(`${clientMessageId}: no answer within ${ANSWER_WITHIN_MS} ms`);
        } else if ("ack" in answer) {
          const message = (answer.ack as { message: { id: string; seq: string; roomId: string } }).message;
          acked.set(clientMessageId, { ...message, at: Date.now() });
          break;
        } else {
          const code = (answer.error as { code?: string } | undefined)?.code;
          if (code === "unavailable") answers.unavailable++;
          else problems.push(`${clientMessageId}: ${JSON.stringify(answer)}`);
        }
        // A send that failed is retried however it failed: the test is about what is stored in the end.
        await new Promise((r) => setTimeout(r, RETRY_AFTER_MS));
      }
      await new Promise((r) => setTimeout(r, SEND_INTERVAL_MS));
    }
  })();
  return {
    acked,
    problems,
    answers,
    /** Finishes the send under way (until acked), then stops. */
    async stop() {
      stopping = true;
      giveUpAt = Date.now() + FINISH_WITHIN_MS;
      await loop;
    },
  };
}

type Sender = ReturnType<typeof startSender>;

/** Every message of a room, by REST, ascending. */
async function storedMessages(roomId: string, token: string) {
  const all: { id: string; seq: string; clientMessageId?: string }[] = [];
  for (;;) {
    const after = all.length === 0 ? "0" : (all.at(-1)?.seq ?? "0");
    const page = await api(
      system,
      "GET",
      `/api/chats/rooms/${roomId}/messages?after=${after}&limit=100`,
      undefined,
      token,
    );
    assert.equal(page.status, 200, JSON.stringify(page.json));
    const messages = page.json.messages as typeof all;
    all.push(...messages);
    if (page.json.hasMore !== true) return all;
  }
}

function componentsAlive(): void {
  for (const c of system.components.values()) {
    assert.equal(c.process.exitCode, null, `${c.name} exited:\n${c.output.slice(-40).join("\n")}`);
    assert.equal(c.process.signalCode, null, `${c.name} was killed by ${c.process.signalCode}`);
  }
}

/** The newest ack any sender got, in ms since the epoch. */
const lastAck = (senders: readonly Sender[]) =>
  Math.max(0, ...senders.flatMap((s) => [...s.acked.values()].map((a) => a.at)));

async function chatHealth(): Promise<string | undefined> {
  const res = await fetch(`${system.edgeUrl}/healthz`).catch(() => undefined);
  const body = (await res?.json().catch(() => undefined)) as { services?: { chat?: string } } | undefined;
  return body?.services?.chat;
}

function logs(): string {
  return [...system.components.values()]
    .map((c) => `--- ${c.name}:\n${c.output.slice(-60).join("\n")}`)
    .concat(`--- postgres:\n${pg.log().split("\n").slice(-30).join("\n")}`)
    .join("\n");
}

test("PostgreSQL restarts under many sending sockets: nothing acked is lost or doubled, sending resumes", async (t) => {
  const users = [await signUp(system, "ada"), await signUp(system, "bob"), await signUp(system, "cyd")];
  const [owner] = users as [(typeof users)[0]];
  const rooms: string[] = [];
  for (let i = 0; i < 3; i++) {
    const room = await api(
      system,
      "POST",
      "/api/chats/rooms",
      { name: `restart-${i}`, memberIds: users.slice(1).map((u) => u.id) },
      owner.token,
    );
    assert.equal(room.status, 201, JSON.stringify(room.json));
    rooms.push((room.json.room as { id: string }).id);
  }
  const sockets: TestSocket[] = [];
  const senders: Sender[] = [];
  const restAcked = new Map<string, Acked>();
  /** Per restart, how long after the database was back the first send was acked (ms, at most). */
  const resumedAfter: number[] = [];
  for (const [i, user] of users.entries()) {
    for (let k = 0; k < 2; k++) {
      const socket = await openSocket(system.wsUrl, { authorization: `Bearer ${user.token}` });
      await socket.next((f) => "ready" in f);
      sockets.push(socket);
      senders.push(startSender(socket, rooms[(i + k) % rooms.length] as string, `${user.username}${k}`));
    }
  }

  try {
    await new Promise((r) => setTimeout(r, 2_000));
    for (let i = 0; i < RESTARTS; i++) {
      await pg.restart();
      const back = Date.now();
      await waitUntil(
        () => lastAck(senders) > back,
        RESUME_WITHIN_MS,
        () => `restart ${i + 1}: no send acked within ${RESUME_WITHIN_MS} ms of the database being back\n${logs()}`,
      );
      resumedAfter.push(Date.now() - back);
      componentsAlive();
      await new Promise((r) => setTimeout(r, 2_000));
    }

    // A longer outage: health turns NOT_SERVING and sends answer `unavailable`; both recover.
    await pg.stop();
    const unavailableBefore = senders.reduce((n, s) => n + s.answers.unavailable, 0);
    await waitUntil(
      async () => (await chatHealth()) === "not_serving",
      10_000,
      () => `health stayed serving\n${logs()}`,
    );
    await waitUntil(
      () => senders.reduce((n, s) => n + s.answers.unavailable, 0) > unavailableBefore,
      10_000,
      () => `no send answered unavailable while the database was down\n${logs()}`,
    );
    // REST too: a prompt 503, not a 504 after the edge's deadline.
    const restSend = { roomId: rooms[0], message: "sent over REST in the outage", clientMessageId: "rest-outage" };
    const asked = Date.now();
    const refused = await api(system, "POST", "/api/chats/messages", restSend, owner.token);
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.deepEqual(
      { ...(refused.json.error as { code?: string; reason?: string }), message: undefined },
      { code: "unavailable", reason: "DATABASE_UNAVAILABLE", message: undefined },
    );
    assert.ok(Date.now() - asked < 5_000, `the REST send was answered after ${Date.now() - asked} ms`);
    // Every other call that needs the database says the same, rather than `internal`.
    const listed = await api(system, "GET", `/api/chats/rooms/${rooms[0]}/messages`, undefined, owner.token);
    assert.equal(listed.status, 503, JSON.stringify(listed.json));
    assert.equal((listed.json.error as { reason?: string }).reason, "DATABASE_UNAVAILABLE");
    componentsAlive();
    await pg.start();
    const back = Date.now();
    await waitUntil(
      async () => (await chatHealth()) === "serving",
      RESUME_WITHIN_MS,
      () => `health stayed down\n${logs()}`,
    );
    await waitUntil(
      () => lastAck(senders) > back,
      RESUME_WITHIN_MS,
      () => `sending did not resume\n${logs()}`,
    );
    const retried = await api(system, "POST", "/api/chats/messages", restSend, owner.token);
    assert.equal(retried.status, 201, JSON.stringify(retried.json));
    const restMessage = retried.json.message as { id: string; seq: string; roomId: string };
    restAcked.set(restSend.clientMessageId, { ...restMessage, at: Date.now() });
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    await Promise.all(senders.map((s) => s.stop()));
    await Promise.all(sockets.map((s) => s.close()));
  }
  componentsAlive();
  assert.deepEqual(
    senders.flatMap((s) => s.problems),
    [],
    `every send is answered, an ack or unavailable\n${logs()}`,
  );

  // Every acked message stored exactly once, where its ack said; every room's seqs gapless.
  const acked = new Map([...senders.flatMap((s) => [...s.acked]), ...restAcked]);
  t.diagnostic(
    `sending resumed within ${resumedAfter.join(", ")} ms of each restart; ${acked.size} messages acked; ${senders.reduce((n, s) => n + s.answers.unavailable, 0)} sends answered unavailable`,
  );
  assert.ok(acked.size > 100, `only ${acked.size} messages were acked`);
  const stored = new Map<string, { id: string; seq: string }>();
  for (const roomId of rooms) {
    const messages = await storedMessages(roomId, owner.token);
    assert.deepEqual(
      messages.map((m) => m.seq),
      messages.map((_, i) => String(i + 1)),
      `room ${roomId}: seqs are gapless`,
    );
    for (const m of messages) {
      const key = m.clientMessageId ?? "";
      assert.ok(!stored.has(key), `${key} stored twice`);
      stored.set(key, m);
    }
  }
  assert.equal(stored.size, acked.size, "as many messages stored as acked");
  for (const [clientMessageId, ack] of acked) {
    const m = stored.get(clientMessageId);
    assert.ok(m, `acked ${clientMessageId} was not stored`);
    assert.deepEqual({ id: m.id, seq: m.seq }, { id: ack.id, seq: ack.seq }, `${clientMessageId} stored as acked`);
  }

  // The outbox relay recovered too: every message.sent event left for RabbitMQ.
  const chatDb = postgres(system.databases.chat, { max: 1, onnotice: () => {} });
  try {
    await waitUntil(
      async () => (await chatDb`select 1 from outbox limit 1`).length === 0,
      15_000,
      () => `chat-svc's outbox was not drained\n${logs()}`,
    );
  } finally {
    await chatDb.end();
  }
});
