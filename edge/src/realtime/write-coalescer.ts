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
}

export function createWriteCoalescer(): WriteCoalescer {
  let corked = new Set<Socket>();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const sockets = corked;
    corked = new Set();
    // A socket destroyed meanwhile has dropped its buffer; uncork is harmless.
    for (const socket of sockets) socket.uncork();
  };
  return {
    write(socket, bytes) {
      if (!corked.has(socket)) {
        socket.cork();
        corked.add(socket);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }
      socket.write(bytes);
    },
  };
}
