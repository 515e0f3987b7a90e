/**
 * The realtime socket (`GET /ws`): authenticates with an `authenticate` frame
 * (never a token in the URL), answers each request by its `ref`, swaps in a
 * refreshed token on the live socket, and reconnects with jittered backoff
 * whenever the socket closes or goes silent for two heartbeat intervals.
 * What to do once connected (resubscribing, resending) belongs to the caller,
 * told through `onReady`.
 */
import type { User } from "@parley/proto/user/v1/user_pb.js";
import { type Auth, isUnauthenticated } from "./auth.js";
import { type Backoff, type BackoffOptions, createBackoff } from "./backoff.js";
import { connectionLost, notConnected, ParleyError } from "./errors.js";
import {
  type ClientFrameKind,
  clientFrames,
  decodeServerFrame,
  encodeClientFrame,
  type ServerFrame,
} from "./frames.js";

// Handlers typed as methods compare bivariantly, so both the browser's WebSocket and the `ws` package's fit.
type Handler<E> = { bivariant(event: E): void }["bivariant"];

/** What the SDK needs of a WebSocket: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionStatus =
  /** Not started yet. */
  | "idle"
  /** Opening a socket and authenticating. */
  | "connecting"
  /** Authenticated: requests can be made. */
  | "open"
  /** Lost; waiting `retryInMs` before the next attempt. */
  | "reconnecting"
  /** The session is over (refresh refused): sign in again. */
  | "signed-out"
  /** Stopped by the app. */
  | "closed";

export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** Failed attempts since the socket was last open. */
  readonly attempt: number;
  readonly retryInMs?: number;
  /** Why the last socket ended, e.g. "heartbeat timeout" or "closed 1013". */
  readonly lastError?: string;
}

export interface RealtimeOptions {
  /** ws:// or wss:// URL of `/ws`. */
  url: string;
  WebSocket: WebSocketConstructor;
  auth: Auth;
  backoff?: BackoffOptions;
  /** How long to wait for `ready` after opening (default 10 s, the server's own deadline). */
  authTimeoutMs?: number;
  /** Each time a socket is authenticated: subscribe and resend from here. */
  onReady(user: User | undefined): void;
  /** Frames that answer no request: events, and `unsubscribed` from the server. */
  onFrame(frame: ServerFrame): void;
  onState(state: ConnectionState): void;
}

const CLOSE_UNAUTHENTICATED = 4401;
/** The code this client closes a socket with when it gives up on it (4000–4999 are the application's). */
const CLOSE_GIVING_UP = 4000;

interface Waiter {
  resolve(frame: ServerFrame): void;
  reject(err: ParleyError): void;
}

export class RealtimeConnection {
  private ws: WebSocketLike | undefined;
  private readonly waiters = new Map<string, Waiter>();
  private nextRef = 1;
  private readonly backoff: Backoff;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatMs = 0;
  /** The token the current socket authenticated with, to refresh past it when refused. */
  private socketToken: string | undefined;
  private state: ConnectionState = { status: "idle", attempt: 0 };
  private readonly stopAuthWatch: () => void;
  private readonly onOnline = () => {
    if (this.state.status === "reconnecting") this.connectNow();
  };

  constructor(private readonly options: RealtimeOptions) {
    this.backoff = createBackoff(options.backoff);
    this.stopAuthWatch = options.auth.onChange((token) => {
      if (token === undefined) this.finish("signed-out");
      else if (this.state.status === "open" && token !== this.socketToken) this.reauthenticate(token);
    });
  }

  get status(): ConnectionStatus {
    return this.state.status;
  }

  start(): void {
    if (this.state.status !== "idle") return;
    (globalThis as { addEventListener?: (type: string, l: () => void) => void }).addEventListener?.(
      "online",
      this.onOnline,
    );
    this.connectNow();
  }

  stop(): void {
    this.finish("closed");
  }

  /** Sends a frame and resolves with the frame answering it (an `error` frame rejects). */
  request(kind: ClientFrameKind): Promise<ServerFrame> {
    if (this.state.status !== "open") return Promise.reject(notConnected());
    return this.exchange(kind);
  }

  /** Sends a frame nobody answers (`typing`); false when not connected. */
  notify(kind: ClientFrameKind): boolean {
    if (this.state.status !== "open" || !this.ws) return false;
    this.ws.send(encodeClientFrame("", kind));
    return true;
  }

  /** Drops the socket as if it had died, and reconnects (the app saw the network change). */
  reconnect(reason = "reconnect requested"): void {
    if (this.ws) this.lost(reason);
  }

  private exchange(kind: ClientFrameKind): Promise<ServerFrame> {
    const ws = this.ws;
    if (!ws) return Promise.reject(notConnected());
    const ref = String(this.nextRef++);
    return new Promise<ServerFrame>((resolve, reject) => {
      this.waiters.set(ref, { resolve, reject });
      ws.send(encodeClientFrame(ref, kind));
    });
  }

  private setState(next: ConnectionState): void {
    this.state = next;
    this.options.onState(next);
  }

  private connectNow(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setState({ ...this.state, status: "connecting", retryInMs: undefined });
    let ws: WebSocketLike;
    try {
      ws = new this.options.WebSocket(this.options.url);
    } catch (err) {
      // A URL the platform refuses (a browser blocking ws: from an https: page) will not work on a retry either,
      // but failing the retry loop loudly would take the app down; the status carries the reason instead.
      this.scheduleRetry(`could not open a socket: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.ws = ws;
    this.arm(this.options.authTimeoutMs ?? 10_000, "no ready within the authentication deadline");
    ws.onopen = () => void this.authenticate(ws);
    ws.onmessage = (event) => this.received(ws, event.data);
    ws.onclose = (event) => {
      if (this.ws === ws) this.lost(`closed ${event.code}${event.reason ? ` ${event.reason}` : ""}`, event.code);
    };
    ws.onerror = () => {
      // Always followed by `close`, which decides what happens next.
    };
  }

  private async authenticate(ws: WebSocketLike): Promise<void> {
    let token: string | undefined;
    try {
      token = await this.options.auth.token();
    } catch (err) {
      if (isUnauthenticated(err)) return this.finish("signed-out");
      if (this.ws === ws) this.lost("could not get a token");
      return;
    }
    if (this.ws !== ws) return;
    if (token === undefined) return this.finish("signed-out");
    this.socketToken = token;
    let ready: ServerFrame;
    try {
      ready = await this.exchange(clientFrames.authenticate(token));
    } catch {
      // An unauthenticated socket is closed by the server (4401), handled in onclose.
      return;
    }
    if (this.ws !== ws || ready.kind.case !== "ready") return;
    this.heartbeatMs = ready.kind.value.heartbeatInterval * 1000;
    this.arm(2 * this.heartbeatMs, "heartbeat timeout");
    this.backoff.reset();
    this.setState({ status: "open", attempt: 0, lastError: this.state.lastError });
    this.options.onReady(ready.kind.value.user);
    // A refresh that finished while this socket authenticated was not sent to it yet.
    const latest = await this.options.auth.token().catch(() => undefined);
    if (this.ws === ws && latest !== undefined && latest !== token) this.reauthenticate(latest);
  }

  private reauthenticate(token: string): void {
    const ws = this.ws;
    this.socketToken = token;
    this.exchange(clientFrames.authenticate(token)).catch(() => {
      // Refused: the server closes the socket (4401) and the reconnect refreshes again.
      if (this.ws === ws) this.socketToken = undefined;
    });
  }

  private received(ws: WebSocketLike, data: unknown): void {
    if (this.ws !== ws) return;
    if (this.heartbeatMs > 0) this.arm(2 * this.heartbeatMs, "heartbeat timeout");
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(String(data));
    } catch {
      this.lost("undecodable frame from the server");
      return;
    }
    const waiter = frame.ref === "" ? undefined : this.waiters.get(frame.ref);
    if (waiter) {
      this.waiters.delete(frame.ref);
      if (frame.kind.case === "error") {
        const { code, message, reason, retryAfterSeconds } = frame.kind.value;
        waiter.reject(new ParleyError(code, message, reason, retryAfterSeconds));
      } else {
        waiter.resolve(frame);
      }
      return;
    }
    if (frame.kind.case === "heartbeat" || frame.kind.case === "pong") return;
    this.options.onFrame(frame);
  }

  /** Silence for longer than `ms` means the socket is dead, whatever TCP thinks. */
  private arm(ms: number, reason: string): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.lost(reason), ms);
  }

  private detach(): void {
    const ws = this.ws;
    this.ws = undefined;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.heartbeatMs = 0;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      // A dead peer never completes the closing handshake: `ws` can be terminated at once.
      const terminate = (ws as { terminate?: () => void }).terminate;
      if (terminate) terminate.call(ws);
      else if (ws.readyState <= 1) ws.close(CLOSE_GIVING_UP, "giving up");
    }
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of waiters) w.reject(connectionLost());
  }

  private lost(reason: string, code?: number): void {
    const stale = this.socketToken;
    this.detach();
    if (this.state.status === "closed" || this.state.status === "signed-out") return;
    if (code === CLOSE_UNAUTHENTICATED) {
      // The token was refused or expired: the next socket needs a newer one.
      this.options.auth.refresh(stale).then(
        () => this.scheduleRetry(reason),
        (err: unknown) => (isUnauthenticated(err) ? this.finish("signed-out") : this.scheduleRetry(reason)),
      );
      this.setState({ status: "reconnecting", attempt: this.backoff.failures, lastError: reason });
      return;
    }
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    if (this.state.status === "closed" || this.state.status === "signed-out") return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const delay = this.backoff.next();
    this.setState({ status: "reconnecting", attempt: this.backoff.failures, retryInMs: delay, lastError: reason });
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  private finish(status: "closed" | "signed-out"): void {
    if (this.state.status === status) return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setState({ ...this.state, status, retryInMs: undefined });
    this.detach();
    if (status === "closed") {
      this.stopAuthWatch();
      (globalThis as { removeEventListener?: (type: string, l: () => void) => void }).removeEventListener?.(
        "online",
        this.onOnline,
      );
    }
  }
}
