/**
 * Broadcast frames written to a socket in one turn of the event loop leave
 * in one writev. Each write is a syscall, and at fan-out rates those
 * syscalls are the edge's whole cost (100 events/s to 1,000 sockets spent
 * three quarters of its CPU in write). Events that arrive together (a
 * StreamEvents response with several, or a backlog read at once when the
 * edge is busy) then cost one write per socket, not one per event; a lone
 * event goes out at the end of the same turn, so a quiet edge adds no delay.
 */
import type { Socket } from "node:net";

export interface WriteCoalescer {
  write(socket: Socket, bytes: Buffer): void;
  /**
   * Bytes the socket held before this turn's writes: what the client has not
   * taken yet. This turn's own writes have not been offered to the kernel, so
   * counting them would call a client slow for being sent much at once.
   */
  queuedBefore(socket: Socket): number;
}

export function createWriteCoalescer(): WriteCoalescer {
  /** Corked sockets, with what each held when it was corked. */
  let corked = new Map<Socket, number>();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const sockets = corked;
    corked = new Map();
    // A socket destroyed meanwhile has dropped its buffer; uncork is harmless.
    for (const socket of sockets.keys()) socket.uncork();
  };
  return {
    queuedBefore: (socket) => corked.get(socket) ?? socket.writableLength,
    write(socket, bytes) {
      if (!corked.has(socket)) {
        corked.set(socket, socket.writableLength);
        socket.cork();
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }
      socket.write(bytes);
    },
  };
}
