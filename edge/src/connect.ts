/**
 * UserService and ChatService for browsers over the Connect protocol (and
 * gRPC-web): a generic proxy that forwards each unary call to the service's
 * gRPC client with the caller's `authorization` header and address. The
 * edge-only methods (StreamEvents, SetPresence) are refused.
 */
import type { DescService, Message } from "@bufbuild/protobuf";
import {
  type CallOptions,
  Code,
  type ConnectRouter,
  type ContextValues,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import { bearerToken } from "@parley/shared/auth.js";
import { appError } from "@parley/shared/errors.js";
import type { FastifyRequest } from "fastify";
import type { ServiceClients } from "./clients.js";
import { clientHeaders } from "./forwarding.js";
import type { AccountEvents } from "./rest/users.js";
import { tokenClaims } from "./token-claims.js";

type UnaryCall = (request: Message, options: CallOptions) => Promise<Message>;
type UnaryImpl = (request: Message, ctx: HandlerContext) => Promise<Message>;

/** Methods only the edge itself may call (they take its service token). */
const EDGE_ONLY = new Set([
  "parley.chat.v1.ChatService.StreamEvents",
  "parley.chat.v1.ChatService.SetPresence",
  "parley.chat.v1.ChatService.SendMessages",
]);

const clientIp = createContextKey<string | undefined>(undefined, { description: "client address" });

/** For fastifyConnectPlugin's `contextValues`: the Connect handler context has no peer address. */
export function connectContextValues(req: FastifyRequest): ContextValues {
  return createContextValues().set(clientIp, req.ip);
}

/** After a successful call, the realtime gateway learns what REST would have told it (logouts, profile changes). */
function afterCall(events: AccountEvents | undefined, method: string, requestHeader: Headers): void {
  if (!events || !ACCOUNT_CHANGES.has(method)) return;
  // The service accepted the token, so its claims can be read as they are.
  const token = bearerToken(requestHeader);
  const claims = token === undefined ? undefined : tokenClaims(token);
  if (!claims) return;
  if (method.endsWith(".Logout")) events.sessionsEnded({ sessionId: claims.sessionId });
  else if (method.endsWith(".LogoutAll")) events.sessionsEnded({ userId: claims.userId });
  else events.profileChanged(claims.userId);
}

const ACCOUNT_CHANGES = new Set([
  "parley.user.v1.UserService.Logout",
  "parley.user.v1.UserService.LogoutAll",
  "parley.user.v1.UserService.UpdateProfile",
]);

function proxy(service: DescService, client: object, events?: AccountEvents) {
  const calls = client as Record<string, UnaryCall>;
  const impl: Record<string, UnaryImpl | (() => never)> = {};
  for (const method of service.methods) {
    if (EDGE_ONLY.has(`${service.typeName}.${method.name}`) || method.methodKind !== "unary") {
      impl[method.localName] = () => {
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
    const name = `${service.typeName}.${method.name}`;
    impl[method.localName] = async (request, ctx) => {
      const timeoutMs = ctx.timeoutMs();
      const response = await call(request, {
        headers: clientHeaders({
          authorization: ctx.requestHeader.get("authorization") ?? undefined,
          ip: ctx.values.get(clientIp),
          userAgent: ctx.requestHeader.get("user-agent") ?? undefined,
        }),
        signal: ctx.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      afterCall(events, name, ctx.requestHeader);
      return response;
    };
  }
  return impl;
}

export function connectRoutes(
  clients: Pick<ServiceClients, "user" | "chat">,
  events?: AccountEvents,
): (router: ConnectRouter) => void {
  return (router) => {
    // The implementations are built from the descriptors, so their types are only known per method at run time.
    router.service(UserService, proxy(UserService, clients.user, events) as never);
    router.service(ChatService, proxy(ChatService, clients.chat) as never);
  };
}
