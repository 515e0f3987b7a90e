/**
 * What a browser app does with Parley: Connect-Web clients for the services
 * and a WebSocket for live events. Bundled by esbuild and run in Chromium by
 * connect-web.test.ts; results go back as plain JSON.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";

async function run(edgeUrl: string, token: string) {
  const transport = createConnectTransport({ baseUrl: edgeUrl });
  const users = createClient(UserService, transport);
  const chats = createClient(ChatService, transport);
  const headers = { authorization: `Bearer ${token}` };

  let unauthenticated = "";
  try {
    await users.getProfile({});
  } catch (err) {
    unauthenticated = ConnectError.from(err).code === Code.Unauthenticated ? "unauthenticated" : String(err);
  }

  const { user } = await users.getProfile({}, { headers });
  const { room } = await chats.createRoom({ name: "from the browser" }, { headers });
  if (!room) throw new Error("no room");

  const ws = new WebSocket(`${edgeUrl.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}`);
  const frames: unknown[] = [];
  const live = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event; frames: ${JSON.stringify(frames)}`)), 10_000);
    ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data));
      frames.push(frame);
      if (frame.ready) ws.send(JSON.stringify({ ref: "s", subscribe: { roomId: room.id } }));
      if (frame.subscribed) void chats.sendMessage({ roomId: room.id, text: "hi from Chromium" }, { headers });
      if (frame.event?.messageCreated) {
        clearTimeout(timer);
        resolve(frame.event);
      }
    };
  });
  const event = await live;
  ws.close();
  const history = await chats.listMessages({ roomId: room.id }, { headers });

  // The edge's own batched send is not for browsers, even with a valid token.
  let internalMethod = "";
  try {
    await chats.sendMessages(
      { items: [{ accessToken: token, request: { roomId: room.id, text: "sneaky" } }] },
      { headers },
    );
    internalMethod = "accepted";
  } catch (err) {
    const ce = ConnectError.from(err);
    internalMethod = `${Code[ce.code]}: ${ce.rawMessage}`;
  }
  return {
    unauthenticated,
    internalMethod,
    username: user?.username,
    event,
    history: history.messages.map((m) => ({ seq: Number(m.seq), text: m.text })),
  };
}

(globalThis as unknown as { parley: { run: typeof run } }).parley = { run };
