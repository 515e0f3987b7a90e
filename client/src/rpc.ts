/**
 * Connect-Web clients for UserService and ChatService. Auth is one
 * interceptor: every call carries the current token, and a call refused as
 * unauthenticated is sent once more after a refresh (which it shares with
 * every other caller that needs one).
 */
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import type { Auth } from "./auth.js";

export type UserClient = Client<typeof UserService>;
export type ChatClient = Client<typeof ChatService>;

export function authInterceptor(auth: Auth): Interceptor {
  return (next) => async (req) => {
    const token = await auth.token();
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      // A streamed request body cannot be sent twice; browsers only make unary calls.
      if (token === undefined || req.stream || ConnectError.from(err).code !== Code.Unauthenticated) throw err;
      req.header.set("authorization", `Bearer ${await auth.refresh(token)}`);
      return await next(req);
    }
  };
}

export function createRpcClients(options: { baseUrl: string; auth: Auth; fetch?: typeof globalThis.fetch }): {
  users: UserClient;
  chats: ChatClient;
} {
  const transport = createConnectTransport({
    baseUrl: options.baseUrl,
    interceptors: [authInterceptor(options.auth)],
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { users: createClient(UserService, transport), chats: createClient(ChatService, transport) };
}
