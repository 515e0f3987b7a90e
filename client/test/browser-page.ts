/**
 * The SDK in a real browser page, as the web app will use it: the global
 * WebSocket and the outbox in IndexedDB. Bundled by esbuild and driven by
 * outbox-reload.test.ts; answers go back as plain JSON.
 */
import { createIndexedDbOutboxStore, createParleyClient, type ParleyClient } from "../src/index.js";

let client: ParleyClient | undefined;

function open(options: { edgeUrl: string; wsUrl: string; token: string; userId: string }): Promise<void> {
  client = createParleyClient({
    baseUrl: options.edgeUrl,
    wsUrl: options.wsUrl,
    auth: { grant: { accessToken: options.token, expiresIn: 900 } },
    outboxStore: createIndexedDbOutboxStore({ name: `parley-outbox-${options.userId}` }),
    backoff: { baseMs: 100, maxMs: 500 },
  });
  return client.start();
}

function started(): ParleyClient {
  if (!client) throw new Error("open first");
  return client;
}

function state(roomId: string) {
  const snapshot = started().getSnapshot();
  const room = snapshot.roomsById.get(roomId);
  return {
    connection: snapshot.connection.status,
    pending: (room?.pending ?? []).map((p) => ({ clientMessageId: p.clientMessageId, text: p.text, status: p.status })),
    messages: (room?.messages ?? []).map((m) => ({
      id: m.id,
      seq: Number(m.seq),
      text: m.text,
      clientMessageId: m.clientMessageId,
    })),
  };
}

async function send(roomId: string, text: string): Promise<string> {
  return (await started().send(roomId, text)).clientMessageId;
}

(globalThis as unknown as { parley: unknown }).parley = {
  open,
  state,
  send,
  loadTimeline: (roomId: string) => started().loadTimeline(roomId),
};
