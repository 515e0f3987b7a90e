/**
 * UserService and ChatService for browsers over the Connect protocol (and
 * gRPC-web): a generic proxy that forwards each unary call to the service's
 * gRPC client with the caller's `authorization` header and address. The
 * edge-only methods (StreamEvents, SetPresence) are refused. A rate limit's
 * wait goes out as Retry-After, as over REST.
 */
import type { DescService, Message } from "@bufbuild/protobuf";
import {
  type CallOptions,
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import { createCallMetrics } from "@parley/shared/call-metrics.js";
import { appError } from "@parley/shared/errors.js";
import type { FastifyRequest } from "fastify";
import type { ServiceClients } from "./clients.js";
import { answerMalformedRequests, markReached, withReachedMarker } from "./connect-request-errors.js";
import { clientHeaders } from "./forwarding.js";
import { retryAfterSeconds } from "./http-errors.js";

type UnaryCall = (request: Message, options: CallOptions) => Promise<Message>;
type UnaryImpl = (request: Message, ctx: HandlerContext) => Promise<Message>;

/** Methods only the edge itself may call (they take its service token). */
const EDGE_ONLY = new Set([
  "parley.chat.v1.ChatService.StreamEvents",
  "parley.chat.v1.ChatService.SetPresence",
  "parley.chat.v1.ChatService.SendMessages",
]);

const clientIp = createContextKey<string | undefined>(undefined, { description: "client address" });

/** parley_connect_server_handled_total and _handling_seconds, per method and code (shared/call-metrics.ts). */
export const connectCalls = createCallMetrics("connect");

/** For fastifyConnectPlugin's `contextValues`: the Connect handler context has no peer address. */
export function connectContextValues(req: FastifyRequest): ContextValues {
  return withReachedMarker(createContextValues().set(clientIp, req.ip));
}

function proxy(service: DescService, client: object) {
  const calls = client as Record<string, UnaryCall>;
  const impl: Record<string, UnaryImpl | ((request: Message, ctx: HandlerContext) => never)> = {};
  for (const method of service.methods) {
    if (EDGE_ONLY.has(`${service.typeName}.${method.name}`) || method.methodKind !== "unary") {
      impl[method.localName] = (_request, ctx) => {
        markReached(ctx);
        throw appError(
          Code.PermissionDenied,
          "INTERNAL_METHOD",
          `${service.name}.${method.name} is not available here`,
        );
      };
      continue;
    }
    const call = calls[method.localName];
    if (!call) throw new Error(`no client method for ${method.name}`);
    impl[method.localName] = async (request, ctx) => {
      markReached(ctx);
      const timeoutMs = ctx.timeoutMs();
      return call(request, {
        headers: clientHeaders({
          authorization: ctx.requestHeader.get("authorization") ?? undefined,
          ip: ctx.values.get(clientIp),
          userAgent: ctx.requestHeader.get("user-agent") ?? undefined,
        }),
        signal: ctx.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
    };
  }
  return impl;
}

/** An error's metadata goes out as response headers: a rate limit's carries Retry-After. */
const retryAfterHeader: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    const error = ConnectError.from(err);
    const seconds = retryAfterSeconds(error);
    if (seconds !== undefined) error.metadata.set("retry-after", String(seconds));
    throw error;
  }
};

/** `clients.user` is the client wrapped withAccountEvents, as for REST. */
export function connectRoutes(clients: Pick<ServiceClients, "user" | "chat">): (router: ConnectRouter) => void {
  // Metrics outermost: they count the code the browser gets.
  const options = { interceptors: [connectCalls.interceptor, retryAfterHeader] };
  return (router) => {
    // The implementations are built from the descriptors, so their types are only known per method at run time.
    router.service(UserService, proxy(UserService, clients.user) as never, options);
    router.service(ChatService, proxy(ChatService, clients.chat) as never, options);
    answerMalformedRequests(router);
  };
}
