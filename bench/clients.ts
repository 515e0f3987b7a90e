/**
 * Many WebSocket clients in one process. Messages are recognised by a
 * client message id embedded in the text ("b-<n>"), found with a regular
 * expression so the same client measures Parley and the bare baselines.
 */
import { once } from "node:events";
import WebSocket from "ws";

const ID = /"clientMessageId":"b-(\d+)"/;
const REF = /"ref":"r-(\d+)"/;

export interface Client {
  ws: WebSocket;
  /** Called with the embedded id of every frame that carries one. */
  onId?: (id: number, frame: string) => void;
  onRef?: (ref: number, frame: string) => void;
  onFrame?: (frame: string) => void;
}

// Loopback has many addresses; spreading sources over them keeps 10,000+
// connections (and the TIME_WAITs of earlier phases) clear of port exhaustion.
let nextSource = 0;
function sourceAddress(): string {
  nextSource = (nextSource % 50) + 1;
  return `127.0.1.${nextSource}`;
}

export async function connect(url: string, opts: { waitFor?: RegExp } = {}): Promise<Client> {
  const ws = new WebSocket(url, { localAddress: sourceAddress(), perMessageDeflate: false });
  const client: Client = { ws };
  let ready: (() => void) | undefined;
  const readyPromise = opts.waitFor ? new Promise<void>((r) => (ready = r)) : Promise.resolve();
  ws.on("message", (data) => {
    const frame = data.toString();
    if (ready && opts.waitFor?.test(frame)) {
      ready();
      ready = undefined;
    }
    client.onFrame?.(frame);
    if (client.onId) {
      const m = ID.exec(frame);
      if (m) client.onId(Number(m[1]), frame);
    }
    if (client.onRef) {
      const m = REF.exec(frame);
      if (m) client.onRef(Number(m[1]), frame);
    }
  });
  ws.on("error", () => {});
  await once(ws, "open");
  await readyPromise;
  return client;
}

/** Opens `count` clients, `concurrency` handshakes at a time. */
export async function connectMany(
  count: number,
  urlFor: (i: number) => string,
  opts: { waitFor?: RegExp; concurrency?: number } = {},
): Promise<Client[]> {
  const out: Client[] = new Array(count);
  let next = 0;
  const workers = Array.from({ length: opts.concurrency ?? 100 }, async () => {
    while (next < count) {
      const i = next++;
      out[i] = await connect(urlFor(i), opts);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Subscribes client i to roomFor(i); rejects on the first error frame rather than waiting forever. */
export async function subscribeAll(clients: Client[], roomFor: (i: number) => string): Promise<void> {
  await Promise.all(
    clients.map(
      (c, i) =>
        new Promise<void>((resolve, reject) => {
          c.onFrame = (f) => {
            if (f.includes('"subscribed"')) {
              c.onFrame = undefined;
              resolve();
            } else if (f.includes('"error"')) reject(new Error(`subscribe failed: ${f}`));
          };
          c.ws.send(JSON.stringify({ ref: "s", subscribe: { roomId: roomFor(i) } }));
        }),
    ),
  );
}

export async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(
    clients.map(async (c) => {
      if (c.ws.readyState === WebSocket.CLOSED) return;
      const closed = once(c.ws, "close");
      c.ws.terminate();
      await closed;
    }),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
