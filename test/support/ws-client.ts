/** A WebSocket test client that records every ServerFrame (as parsed JSON). */
import { once } from "node:events";
import { createRecorder } from "@parley/shared/testing.js";
import WebSocket from "ws";

export type Frame = Record<string, unknown> & { ref?: string };

export interface TestSocket {
  ws: WebSocket;
  frames: Frame[];
  send(frame: Frame): void;
  next(match: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  close(): Promise<void>;
}

export async function openSocket(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers });
  const received = createRecorder<Frame>((frames) => `got ${JSON.stringify(frames)}`);
  const frames = received.items;
  ws.on("message", (data) => received.push(JSON.parse(String(data)) as Frame));
  await once(ws, "open");
  return {
    ws,
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    next: (match, timeoutMs = 10_000) => received.next(match, timeoutMs),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, "close");
      ws.close();
      await closed;
    },
  };
}
