/**
 * gRPC clients for user-svc and chat-svc (connect-node's gRPC transport over
 * one HTTP/2 session each). Every error a call raises is normalised here, so
 * REST, Connect and WebSocket all hand clients the same, safe errors.
 */
import type { ClientSessionOptions } from "node:http2";
import { type Client, Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { ErrorInfoSchema } from "@parley/proto/rpc/v1/error_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import { SERVICE_TOKEN_HEADER } from "@parley/shared/auth.js";
import { appError, internal } from "@parley/shared/errors.js";
import type { Logger } from "@parley/shared/logger.js";
import { rpcTracing } from "@parley/shared/rpc-tracing.js";
import { createServiceDialer, type ServiceDialer } from "./service-dialer.js";
import type { ServiceTokenSource } from "./service-token.js";

const CALL_TIMEOUT_MS = 15_000;

export type UserClient = Client<typeof UserService>;
export type ChatClient = Client<typeof ChatService>;

export interface ServiceClients {
  user: UserClient;
  chat: ChatClient;
  userTransport: Transport;
  chatTransport: Transport;
  close(): void;
}

/**
 * What a client may see of an error from `service`. Service errors (they carry
 * an ErrorInfo) pass with code, message and details but without the upstream
 * gRPC headers; transport failures become a plain "unavailable".
 */
export function fromUpstream(err: unknown, service: string, logger: Logger): ConnectError {
  const ce = ConnectError.from(err);
  const info = ce.findDetails(ErrorInfoSchema);
  if (info.length > 0) {
    // Re-attached as typed details so that Connect clients also get them as readable JSON ("debug").
    return new ConnectError(
      ce.rawMessage,
      ce.code,
      undefined,
      info.map((value) => ({ desc: ErrorInfoSchema, value })),
    );
  }
  switch (refusedStream(ce) ? Code.Unavailable : ce.code) {
    case Code.Unavailable:
      logger.debug({ err: ce.message, service }, "service unavailable");
      return appError(Code.Unavailable, "SERVICE_UNAVAILABLE", `${service} is unavailable`);
    case Code.DeadlineExceeded:
      return appError(Code.DeadlineExceeded, "DEADLINE_EXCEEDED", `${service} did not answer in time`);
    case Code.Internal:
    case Code.Unknown:
    case Code.DataLoss:
      logger.error({ err: ce, service }, "unexpected error from service");
      return internal();
    default:
      return new ConnectError(ce.rawMessage, ce.code);
  }
}

/**
 * The service refused the call's HTTP/2 stream (RST_STREAM REFUSED_STREAM):
 * it is going away, as every one does when it shuts down, and did none of the
 * work. connect-node calls that `internal`; it is `unavailable` (a retry
 * elsewhere or later is safe), and nothing for an operator to look into.
 */
function refusedStream(ce: ConnectError): boolean {
  if (ce.code !== Code.Internal) return false;
  let cause: unknown = ce.cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++, cause = cause.cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ERR_HTTP2_STREAM_ERROR" && cause.message.includes("NGHTTP2_REFUSED_STREAM")) return true;
  }
  return false;
}

function normaliseErrors(service: string, logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw fromUpstream(err, service, logger);
    }
  };
}

/** user-svc believes the client address and user agent the edge forwards only from a caller with this token. */
function presentServiceToken(source: ServiceTokenSource): Interceptor {
  return (next) => async (req) => {
    req.header.set(SERVICE_TOKEN_HEADER, await source.get());
    return next(req);
  };
}

/** While the dialer backs off after failed connects, calls fail at once instead of each dialling again. */
function backOff(service: string, dialer: ServiceDialer): Interceptor {
  return (next) => async (req) => {
    if (dialer.backOffMs() > 0) throw appError(Code.Unavailable, "SERVICE_UNAVAILABLE", `${service} is unavailable`);
    return next(req);
  };
}

function transportFor(service: string, baseUrl: string, logger: Logger, interceptors: Interceptor[] = []) {
  // Our own session manager so that close() can end the HTTP/2 session, and
  // our own dialer (see service-dialer.ts), which also turns Nagle's delay off
  // for small RPC writes, as grpc-js clients do.
  const dialer = createServiceDialer();
  const sessionOptions: ClientSessionOptions = { createConnection: dialer.dial };
  const sessionManager = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: 30_000, pingIdleConnection: true },
    sessionOptions,
  );
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    // Tracing outermost: the client span (and the traceparent it sends) covers the whole call.
    interceptors: [
      ...rpcTracing("client"),
      normaliseErrors(service, logger),
      backOff(service, dialer),
      ...interceptors,
    ],
    // Unary calls never hang a request forever; StreamEvents opts out with timeoutMs 0.
    defaultTimeoutMs: CALL_TIMEOUT_MS,
  });
  return { transport, sessionManager };
}

export function createServiceClients(opts: {
  userSvcUrl: string;
  chatSvcUrl: string;
  logger: Logger;
  serviceToken: ServiceTokenSource;
}): ServiceClients {
  const user = transportFor("user-svc", opts.userSvcUrl, opts.logger, [presentServiceToken(opts.serviceToken)]);
  const chat = transportFor("chat-svc", opts.chatSvcUrl, opts.logger);
  return {
    user: createClient(UserService, user.transport),
    chat: createClient(ChatService, chat.transport),
    userTransport: user.transport,
    chatTransport: chat.transport,
    close() {
      user.sessionManager.abort();
      chat.sessionManager.abort();
    },
  };
}
