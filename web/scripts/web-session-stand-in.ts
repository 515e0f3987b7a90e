/**
 * For `vite preview` checks before the edge serves the app: the edge's web
 * session routes (/api/web/session, /refresh, /logout; README "Web app")
 * played over the edge's JSON token routes, with the refresh token in an
 * httpOnly cookie as the edge keeps it. Used only by web/scripts/preview.config.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin } from "vite";

const COOKIE = "parley_web_refresh";

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

function cookieOf(req: IncomingMessage): string | undefined {
  const match = /(?:^|;\s*)parley_web_refresh=([^;]+)/.exec(req.headers.cookie ?? "");
  return match ? decodeURIComponent(match[1] as string) : undefined;
}

export function webSessionStandIn(edge: string): Plugin {
  const handle = async (req: IncomingMessage, res: ServerResponse, route: string) => {
    const send = (status: number, body: unknown, cookie?: string) => {
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      if (cookie !== undefined)
        res.setHeader("set-cookie", `${COOKIE}=${cookie}; HttpOnly; SameSite=Strict; Path=/api/web`);
      res.end(JSON.stringify(body));
    };
    if (req.headers["x-parley-csrf"] !== "1")
      return send(403, { error: { code: "permission_denied", message: "csrf" } });
    const call = async (path: string, body: unknown) => {
      const answer = await fetch(`${edge}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
    };
    if (route === "session") {
      const a = await call("/api/users/verify-otp", JSON.parse(await readBody(req)));
      if (a.status !== 200) return send(a.status, a.json);
      const { refreshToken, ...rest } = a.json;
      return send(200, rest, encodeURIComponent(String(refreshToken)));
    }
    const token = cookieOf(req);
    if (route === "refresh") {
      if (!token) return send(401, { error: { code: "unauthenticated", message: "no session" } });
      const a = await call("/api/users/refresh", { refreshToken: token });
      if (a.status !== 200) return send(a.status, a.json, "");
      const me = await fetch(`${edge}/api/users/profile`, {
        headers: { authorization: `Bearer ${a.json.accessToken}` },
      });
      const user = ((await me.json()) as { user?: unknown }).user;
      const { refreshToken, ...rest } = a.json;
      return send(200, { ...rest, user }, encodeURIComponent(String(refreshToken)));
    }
    send(200, {}, "");
  };
  return {
    name: "parley-web-session-stand-in",
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        const route = /^\/api\/web\/(session|refresh|logout)$/.exec(req.url ?? "")?.[1];
        if (!route || req.method !== "POST") return next();
        handle(req, res, route).catch(next);
      });
    },
  };
}
