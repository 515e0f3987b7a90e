/**
 * The shape every component's `build(deps)` returns (Fastify's testing
 * guide): the app wired from its dependencies but not yet listening. main.ts
 * listens where the config says; tests listen on port 0.
 */
import type { Server } from "node:http";

/** Where a component listens: HOST and PORT from its config, or port 0 for a free one. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Component {
  /** Binds the address and resolves with the port bound. */
  listen(at: ListenAddress): Promise<number>;
  /** Stops listening (if it was) and stops the app's own work; the dependencies it was given stay open. */
  close(): Promise<void>;
}

/** For main.ts: listens, or closes the app (whose workers would keep the process alive) and rethrows. */
export async function listenOrClose(app: Component, at: ListenAddress): Promise<number> {
  try {
    return await app.listen(at);
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** A plain node:http server as a Component; close() also drops idle keep-alive connections, so it returns at once. */
export function httpServerComponent(server: Server): Component {
  return {
    listen: ({ host, port }) =>
      new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address();
          resolve(typeof address === "object" && address !== null ? address.port : port);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
