/**
 * A TCP proxy in front of the edge that can fail the way networks do: refuse
 * new connections (offline), freeze open ones so nothing moves either way
 * (a half-open connection, which only a heartbeat watchdog notices), drop
 * what the server sends while still carrying what the client sends (an
 * answer lost with the connection), or cut them.
 */
import { once } from "node:events";
import { createServer, type Socket, connect as tcpConnect } from "node:net";

interface Link {
  client: Socket;
  upstream: Socket;
  frozen: boolean;
  downstreamMuted: boolean;
}

export interface FaultProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** While on, new connections are closed as soon as they arrive. */
  refuse(on: boolean): void;
  /** The open connections stop carrying anything, but stay open. */
  freeze(): void;
  /** The open connections carry the client's bytes but drop the server's. */
  muteDownstream(): void;
  /** The open connections are reset. */
  cut(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const links = new Set<Link>();
  let refusing = false;
  let accepted = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    const link: Link = { client, upstream, frozen: false, downstreamMuted: false };
    links.add(link);
    client.on("data", (chunk) => {
      if (!link.frozen) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!link.frozen && !link.downstreamMuted) client.write(chunk);
    });
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    // A frozen link is a dead path: the server giving up on it is not heard by the client either.
    const upstreamEnded = () => (link.frozen ? upstream.destroy() : end());
    upstream.on("close", upstreamEnded).on("error", upstreamEnded);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    refuse(on) {
      refusing = on;
    },
    freeze() {
      for (const l of links) l.frozen = true;
    },
    muteDownstream() {
      for (const l of links) l.downstreamMuted = true;
    },
    cut() {
      for (const l of links) {
        l.client.resetAndDestroy();
        l.upstream.destroy();
      }
      links.clear();
    },
    async close() {
      for (const l of links) {
        l.client.destroy();
        l.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
