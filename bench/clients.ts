/**
 * Many WebSocket clients in one process. Messages are recognised by a
 * client message id embedded in the text ("b-<n>"), so the same client
 * measures Parley and the bare baselines. The ids are read from the frame's
 * bytes: the load generator shares the machine with what it measures, and
 * turning 100,000 frames a second into strings just to search them cost it
 * a good part of a core.
 */
import { once } from "node:events";
import WebSocket, { type RawData } from "ws";

const ID = Buffer.from('"clientMessageId":"b-');

/** Whether `frame` begins with `prefix`. */
export function hasPrefix(frame: Buffer, prefix: Buffer): boolean {
  return frame.length >= prefix.length && frame.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** The decimal number right after `prefix` in `frame`, if the prefix occurs. */
export function numberAfter(frame: Buffer, prefix: Buffer): number | undefined {
  const at = frame.indexOf(prefix);
  if (at < 0) return undefined;
  let n = 0;
  let i = at + prefix.length;
  for (; i < frame.length; i++) {
    const digit = (frame[i] as number) - 48;
    if (digit < 0 || digit > 9) break;
    n = n * 10 + digit;
  }
  return i > at + prefix.length ? n : undefined;
}

const asBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

export interface Client {
  ws: WebSocket;
  /** Called with the embedded id of every frame that carries one (the frame's bytes: its text is ASCII). */
  onId?: (id: number, frame: Buffer) => void;
  onFrame?: (frame: string) => void;
  /** Every frame's bytes, before the other hooks. */
  onBytes?: (frame: Buffer) => void;
}

// Loopback has many addresses; spreading sources over them keeps 10,000+
// connections (and the TIME_WAITs of earlier phases) clear of port exhaustion.
let nextSource = 0;
function sourceAddress(): string {
  nextSource = (nextSource % 50) + 1;
  return `127.0.1.${nextSource}`;
}

export async function connect(url: string, opts: { waitFor?: RegExp } = {}): Promise<Client> {
  // The generator trusts what it measures to send UTF-8 (the tests check that), and spends its share of the cores on load.
  const ws = new WebSocket(url, { localAddress: sourceAddress(), perMessageDeflate: false, skipUTF8Validation: true });
  const client: Client = { ws };
  let ready: (() => void) | undefined;
  const readyPromise = opts.waitFor ? new Promise<void>((r) => (ready = r)) : Promise.resolve();
  ws.on("message", (data) => {
    const bytes = asBuffer(data);
    client.onBytes?.(bytes);
    if (ready || client.onFrame) {
      const frame = bytes.toString();
      if (ready && opts.waitFor?.test(frame)) {
        ready();
        ready = undefined;
      }
      client.onFrame?.(frame);
    }
    if (client.onId) {
      const id = numberAfter(bytes, ID);
      if (id !== undefined) client.onId(id, bytes);
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
