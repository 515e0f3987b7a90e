/**
 * A TCP proxy in front of one of the machine's shared servers (PostgreSQL,
 * Redis, RabbitMQ) that a test can cut and restore, so a component sees that
 * server go away without anyone stopping it for the other tests that use it.
 *
 * Two ways to go away:
 *  - "reset": every connection it carries, and every new one, is reset at
 *    once, the way a stopped server's host answers;
 *  - "silent": connections stay open but nothing passes either way, and new
 *    ones are accepted and never answered: a server that hangs, or a network
 *    that drops everything. Restored, the held connections are reset.
 * It keeps listening meanwhile: a port given up could be taken by another
 * process before restore, and a client that dials a port in the ephemeral
 * range with nothing listening can be handed it as its own source port and
 * connect to itself (see the README's Ports section).
 */
import { once } from "node:events";
import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";

export type Outage = "reset" | "silent";

export interface CuttableProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Takes the server away until restore(). */
  cut(how?: Outage): void;
  /**
   * Resets the next connection whose client sends bytes matching `match`,
   * at that moment, once; resolves when it has.
   */
  resetNextWhen(match: (fromClient: Buffer) => boolean): Promise<void>;
  restore(): void;
  close(): Promise<void>;
}

export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const to = new URL(target);
  const targetHost = to.hostname;
  const targetPort = Number(to.port);
  const open = new Set<Socket>();
  let outage: Outage | undefined;
  let trap: { match: (fromClient: Buffer) => boolean; sprung: () => void } | undefined;

  const resetAll = () => {
    for (const socket of [...open]) {
      open.delete(socket);
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  };
  const hold = (socket: Socket) => {
    open.add(socket);
    socket.on("error", () => socket.destroy()).on("close", () => open.delete(socket));
    // Read and dropped, so the peer's writes never block on a full window either.
    socket.on("data", () => {});
  };

  const server = createServer((client) => {
    if (outage === "reset") {
      client.resetAndDestroy();
      return;
    }
    if (outage === "silent") {
      hold(client);
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    open.add(client);
    open.add(upstream);
    const end = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    // Forwarded only while the proxy is up: a silent outage drops what arrives.
    client.on("data", (chunk: Buffer) => {
      if (trap?.match(chunk)) {
        const { sprung } = trap;
        trap = undefined;
        open.delete(client);
        open.delete(upstream);
        client.resetAndDestroy();
        upstream.destroy();
        sprung();
        return;
      }
      if (outage === undefined) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (outage === undefined) client.write(chunk);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    cut(how = "reset") {
      outage = how;
      if (how === "reset") resetAll();
    },
    resetNextWhen(match) {
      return new Promise<void>((sprung) => {
        trap = { match, sprung };
      });
    },
    restore() {
      // Whatever was held through a silent outage has lost bytes: it cannot carry on.
      if (outage === "silent") resetAll();
      outage = undefined;
    },
    async close() {
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
