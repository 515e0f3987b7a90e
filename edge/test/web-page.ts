/**
 * What the web app does from a page the edge serves under its CSP: the
 * cookie session routes, Connect-Web and the WebSocket, all same-origin.
 * Bundled by esbuild into a fixture build and run in Chromium by
 * web-browser.test.ts; results go back as plain JSON.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "@parley/proto/chat/v1/chat_pb.js";
import { UserService } from "@parley/proto/user/v1/user_pb.js";

interface PageGlobal {
  location: { origin: string; host: string };
  addEventListener(
    type: "securitypolicyviolation",
    listener: (e: { violatedDirective: string; blockedURI: string }) => void,
  ): void;
  parley: {
    signIn: typeof signIn;
    chat: typeof chat;
    refresh: typeof refresh;
    violations: string[];
    blocked: typeof blocked;
  };
}
const page = globalThis as unknown as PageGlobal;

// Recorded from the first moment the bundle runs; the test asserts there are none from the app's own traffic.
const violations: string[] = [];
page.addEventListener("securitypolicyviolation", (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));

const csrf = { "x-parley-csrf": "1", "content-type": "application/json" };

async function webSession(path: string, body?: unknown) {
  const res = await fetch(path, {
    method: "POST",
    headers: csrf,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function signIn(email: string, otp: string) {
  return webSession("/api/web/session", { email, otp });
}

function refresh() {
  return webSession("/api/web/refresh");
}

/** Connect-Web on the page's own origin, then a live event over the page's own WebSocket. */
async function chat(token: string) {
  const transport = createConnectTransport({ baseUrl: page.location.origin });
  const users = createClient(UserService, transport);
  const chats = createClient(ChatService, transport);
  const headers = { authorization: `Bearer ${token}` };
  const { user } = await users.getProfile({}, { headers });
  const { room } = await chats.createRoom({ name: "under the CSP" }, { headers });
  if (!room) throw new Error("no room");

  const ws = new WebSocket(`ws://${page.location.host}/ws`);
  const event = await new Promise<{ text: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no live event")), 10_000);
    ws.onerror = () => reject(new Error("the WebSocket failed"));
    ws.onopen = () => ws.send(JSON.stringify({ ref: "a", authenticate: { token } }));
    ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data));
      if (frame.ready) ws.send(JSON.stringify({ ref: "s", subscribe: { roomId: room.id } }));
      if (frame.subscribed)
        void chats.sendMessage({ roomId: room.id, text: "over Connect, back over /ws" }, { headers });
      if (frame.event?.messageCreated) {
        clearTimeout(timer);
        resolve({ text: frame.event.messageCreated.text });
      }
    };
  });
  ws.close();
  return { username: user?.username, event };
}

/** What the CSP must stop: a connection to another origin (the control that shows violations are seen). */
async function blocked() {
  try {
    await fetch("http://parley-elsewhere.invalid/");
    return "fetched";
  } catch {
    return "refused";
  }
}

page.parley = { signIn, chat, refresh, violations, blocked };
