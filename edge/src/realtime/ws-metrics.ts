/**
 * The WebSocket side of the edge: sockets open, frames in and out by type,
 * closes by code, and the fan-out delay. Every count here is on a hot path:
 * each label value's child is bound once and kept, so a frame costs one
 * increment.
 */
import { gauge, type HotCounterChild, histogram, hotCounter } from "@parley/shared/metrics.js";

export const socketsOpen = gauge({
  name: "parley_ws_connections",
  help: "WebSocket connections open on this edge",
});

const framesIn = hotCounter<"type">({
  name: "parley_ws_frames_received_total",
  help: "Frames received from clients, by frame type (invalid: not a client frame; binary: refused)",
  labelNames: ["type"],
});

const framesOut = hotCounter<"type">({
  name: "parley_ws_frames_sent_total",
  help: "Frames written to clients, by frame type (event, heartbeat, error, and each reply's kind)",
  labelNames: ["type"],
});

const closes = hotCounter<"code">({
  name: "parley_ws_closes_total",
  help: "WebSocket connections closed, by close code (1006: dropped without a close frame)",
  labelNames: ["code"],
});

/**
 * From an event's occurred_at, which chat-svc sets in the transaction that
 * commits it, to its frame being written to the sockets subscribed on this
 * edge (handed to them in that turn of the event loop). Observed once per
 * event and edge, not per socket. Includes clock skew between hosts.
 */
export const fanoutDelay = histogram({
  name: "parley_ws_fanout_delay_seconds",
  help: "From a room event's commit (its occurred_at) to its frame written to this edge's subscribed sockets",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

function boundBy(metric: { labels(value: string): HotCounterChild }): (value: string) => HotCounterChild {
  const children = new Map<string, HotCounterChild>();
  return (value) => {
    let child = children.get(value);
    if (!child) {
      child = metric.labels(value);
      children.set(value, child);
    }
    return child;
  };
}

/** Frame types are the protocol's closed set of frame kinds, so these maps stay small. */
export const frameReceived = boundBy(framesIn);
export const frameSent = boundBy(framesOut);

/** Codes clients may choose (3000–4999) other than Parley's own count as "other": the label stays bounded. */
const closeCode = boundBy(closes);
export function socketClosed(code: number): void {
  closeCode(code < 3000 || code === 4401 ? String(code) : "other").inc();
}
