/**
 * How the edge opens a TCP connection to a service (http2.connect's
 * `createConnection`, under connect-node's session manager).
 *
 * The default gRPC ports (50051, 50052) lie inside Linux's ephemeral range
 * (32768–60999). Dialled while nothing listens there, a connect can be given
 * that same port as its own source port and connect to itself (TCP
 * simultaneous open); while that socket lives, the service cannot bind its
 * port (EADDRINUSE with nothing listening). So a socket connected to itself
 * is dropped at once, and after a failed attempt calls fail without dialling
 * for a delay that doubles up to a cap (clients.ts asks backOffMs): every
 * call otherwise dials anew while a service is down, each a chance of
 * exactly that. The README's "Ports" section says how to keep the kernel from
 * handing out the ports at all.
 */
import { connect, type Socket, type TcpNetConnectOpts } from "node:net";

export interface DialerOptions {
  /** The wait after the first failure; it doubles with each further one. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Opens the socket; tests pin the local port to make a self-connection. */
  open?: (opts: TcpNetConnectOpts) => Socket;
}

export interface ServiceDialer {
  /** For http2.connect's createConnection. */
  dial(authority: URL): Socket;
  /** How long calls should fail at once rather than dial (0: dial). */
  backOffMs(): number;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

/** A socket whose two ends are the same address and port: it dialled itself. */
export function isSelfConnected(socket: Socket): boolean {
  return socket.localPort === socket.remotePort && socket.localAddress === socket.remoteAddress;
}

export function createServiceDialer(opts: DialerOptions = {}): ServiceDialer {
  const firstDelayMs = opts.firstDelayMs ?? FIRST_DELAY_MS;
  const maxDelayMs = opts.maxDelayMs ?? MAX_DELAY_MS;
  const open = opts.open ?? connect;
  let failures = 0;
  let notBefore = 0;
  const failed = () => {
    failures++;
    notBefore = Date.now() + Math.min(maxDelayMs, firstDelayMs * 2 ** (failures - 1));
  };

  return {
    backOffMs: () => Math.max(0, notBefore - Date.now()),
    dial(authority) {
      // URL keeps an IPv6 literal's brackets in hostname.
      const host = authority.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = Number(authority.port || (authority.protocol === "https:" ? 443 : 80));
      const socket = open({ host, port, noDelay: true });
      let connected = false;
      socket.once("connect", () => {
        if (!isSelfConnected(socket)) {
          connected = true;
          failures = 0;
          notBefore = 0;
          return;
        }
        // Not at once: destroyed before the HTTP/2 session has taken the socket, Node aborts (a native
        // assertion); a turn later the session fails its calls with this error, which reads `unavailable`.
        const error = Object.assign(new Error(`${host}:${port} connected to itself: nothing listens there`), {
          code: "ECONNREFUSED",
        });
        setImmediate(() => socket.destroy(error));
      });
      socket.once("error", () => {
        if (!connected) failed();
      });
      return socket;
    },
  };
}
