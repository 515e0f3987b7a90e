/**
 * The OpenAPI document against the edge it describes, with real user-svc and
 * chat-svc behind it: every route Fastify registered under /api is in it (by
 * Fastify's own onRoute list, not the route table the document is built
 * from), it is a valid OpenAPI 3.1 document, every answer of a real flow
 * (successes and errors alike) validates against the schema it documents for
 * that status, and /api/docs shows the operations in Chromium under the
 * pages' CSP without a violation.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../test/support/browser.js";
import { type ApiResponse, type SignedUp, type System, startSystem } from "./harness.js";

type Json = Record<string, unknown>;

let system: System;
let doc: Json;
let browser: Browser | undefined;

before(async () => {
  system = await startSystem();
  const res = await fetch(`${system.edge.url}/api/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  doc = (await res.json()) as Json;
});

after(async () => {
  await browser?.close();
  await system?.close();
});

const paths = () => doc.paths as Record<string, Record<string, Json>>;
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/** The document's path template a concrete path matches (`/api/chats/rooms/{id}` for a room's path). */
function templateOf(method: string, path: string): string {
  const matches = Object.keys(paths()).filter((template) => {
    if (paths()[template]?.[method.toLowerCase()] === undefined) return false;
    const pattern = template.replace(/[.]/g, "\\.").replace(/\{\w+\}/g, "[^/]+");
    return new RegExp(`^${pattern}$`).test(path);
  });
  // A static segment wins over a parameter, as in Fastify's router (/api/chats/rooms/public).
  matches.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  const found = matches[0];
  assert.ok(found, `${method} ${path} is not in the document`);
  return found;
}

test("every route Fastify serves under /api is documented with its method, and nothing else is", () => {
  const served = system.edge.app.routes.filter((r) => r.url === "/api" || r.url.startsWith("/api/"));
  const gets = new Set(served.filter((r) => r.method === "GET").map((r) => r.url));
  const documented = new Set<string>();
  for (const [template, methods] of Object.entries(paths())) {
    for (const method of Object.keys(methods)) documented.add(`${method.toUpperCase()} ${template}`);
  }
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const { method, url } of served) {
    // Fastify adds a HEAD route beside every GET one; it answers as the GET does, without a body.
    if (method === "HEAD") {
      assert.ok(gets.has(url), `HEAD ${url} without a GET`);
      continue;
    }
    const key = `${method} ${url.replace(/:(\w+)/g, "{$1}")}`;
    seen.add(key);
    if (!documented.has(key)) missing.push(key);
  }
  assert.deepEqual(missing, [], "routes missing from the document");
  assert.deepEqual(
    [...documented].filter((k) => !seen.has(k)),
    [],
    "documented operations Fastify does not serve",
  );
  // The REST API of the README, the web session, and the reference itself.
  assert.ok(seen.size >= 40, `only ${seen.size} routes under /api`);
  for (const key of ["POST /api/users/register", "DELETE /api/chats/rooms/{id}/members/{userId}", "GET /api/docs"]) {
    assert.ok(seen.has(key), key);
  }
});

test("the document is a valid OpenAPI 3.1 document whose schemas compile as JSON Schema 2020-12", async () => {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, "3.1");
  // Strict: a keyword Ajv does not know (a typo, a 3.0-only one) fails the compile.
  const ajv = createAjv();
  for (const name of Object.keys((doc.components as { schemas: Json }).schemas)) {
    assert.ok(ajv.getSchema(`openapi#/${pointer("components", "schemas", name)}`), name);
  }
  let compiled = 0;
  for (const [template, methods] of Object.entries(paths())) {
    for (const [method, op] of Object.entries(methods)) {
      const at = (...parts: string[]) => `openapi#/${pointer("paths", template, method, ...parts)}`;
      if (op.requestBody) assert.ok(ajv.getSchema(at("requestBody", "content", "application/json", "schema")));
      for (const [i, parameter] of ((op.parameters ?? []) as Json[]).entries()) {
        assert.ok(ajv.getSchema(at("parameters", String(i), "schema")), `${template} ${parameter.name}`);
      }
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        const json = (response.content as Record<string, Json> | undefined)?.["application/json"];
        if (json?.schema) assert.ok(ajv.getSchema(at("responses", status, "content", "application/json", "schema")));
        compiled++;
      }
    }
  }
  assert.ok(compiled > 100, `${compiled} responses`);
});

function createAjv(options: { coerceTypes?: boolean } = {}) {
  // Strict, but for `required` in a oneof's branches, which names properties the enclosing object declares.
  // 64-bit integers are read from strings or numbers: `type: ["string", "integer"]`.
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true, ...options });
  addFormats.default(ajv);
  // protobuf's integer widths, which JSON Schema leaves to the application.
  for (const format of ["int32", "uint32", "int64", "uint64"]) ajv.addFormat(format, true);
  // The OpenAPI document's own fields, so that the whole document can be added and its schemas referred to.
  ajv.addVocabulary(["openapi", "info", "jsonSchemaDialect", "servers", "tags", "paths", "components"]);
  ajv.addSchema(doc, "openapi");
  return ajv;
}

/**
 * The request, made for real, and its answer checked against the document: the
 * status is one it documents for the route (or its `default`), and the body
 * validates against that response's schema.
 */
let checker: ReturnType<typeof createAjv> | undefined;
const checked: string[] = [];
const checkedRequests: string[] = [];
let paramChecker: ReturnType<typeof createAjv> | undefined;

/** Whether the document accepts the request's body and its path and query parameters. */
function requestAccepted(method: string, path: string, template: string, body: unknown): boolean {
  const op = paths()[template]?.[method.toLowerCase()] as Json;
  const at = (...parts: string[]) => `openapi#/${pointer("paths", template, method.toLowerCase(), ...parts)}`;
  let ok = true;
  if (op.requestBody !== undefined && body !== undefined) {
    const validBody = checker?.getSchema(at("requestBody", "content", "application/json", "schema"));
    assert.ok(validBody);
    ok &&= validBody(body) === true;
  }
  // Parameters arrive as text: validated as OpenAPI reads them, "5" an integer where the schema says so.
  paramChecker ??= createAjv({ coerceTypes: true });
  const url = new URL(path, "http://edge");
  const segments = url.pathname.split("/");
  const values: Record<string, string | undefined> = {};
  template.split("/").forEach((segment, i) => {
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (name) values[name] = decodeURIComponent(segments[i] ?? "");
  });
  for (const [i, p] of ((op.parameters ?? []) as Json[]).entries()) {
    if (p.in === "header") continue;
    const value = p.in === "path" ? values[p.name as string] : (url.searchParams.get(p.name as string) ?? undefined);
    if (value === undefined) {
      ok &&= p.required !== true;
      continue;
    }
    const validate = paramChecker.compile({
      type: "object",
      properties: { value: { $ref: at("parameters", String(i), "schema") } },
    });
    ok &&= validate({ value }) === true;
  }
  return ok;
}
async function call(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  headers?: Record<string, string>,
): Promise<ApiResponse> {
  checker ??= createAjv();
  const res = await system.api(method, path, body, token, headers ? { headers } : {});
  const template = templateOf(method, path.split("?")[0] ?? path);
  const responses = paths()[template]?.[method.toLowerCase()]?.responses as Record<string, Json>;
  const status = String(res.status) in responses ? String(res.status) : "default";
  assert.ok(status in responses, `${method} ${path} answered ${res.status}, which is not documented`);
  if (res.status < 400) assert.notEqual(status, "default", `${method} ${path}: success ${res.status} not documented`);
  const ref = `openapi#/${pointer("paths", template, method.toLowerCase(), "responses", status, "content", "application/json", "schema")}`;
  const validate = checker.getSchema(ref);
  assert.ok(validate, `no schema at ${ref}`);
  const ok = validate(res.json);
  assert.ok(
    ok,
    `${method} ${path} → ${res.status} ${JSON.stringify(res.json)}\n${JSON.stringify(validate.errors, null, 2)}`,
  );
  checked.push(`${res.status} ${method} ${template}`);
  // The request side: a request whose body (a JSON object) or path and query parameters the document refuses is
  // refused by the edge (400), and one it accepts never fails the edge's input checks (the rules it cannot
  // express, CEL's, are not broken here).
  const accepted = typeof body === "string" ? undefined : requestAccepted(method, path, template, body);
  if (accepted !== undefined) {
    const error = (res.json.error ?? {}) as { reason?: string };
    const request = `${method} ${path} ${JSON.stringify(body) ?? ""}`;
    if (accepted) assert.notEqual(error.reason, "INVALID_ARGUMENT", `the document accepts ${request}`);
    else assert.equal(res.status, 400, `the document refuses ${request}`);
    checkedRequests.push(`${accepted ? "accepted" : "refused"} ${method} ${template}`);
  }
  return res;
}

test("every answer of a real flow, errors included, validates against the document", async () => {
  const email = "openapi_ada@example.test";
  const username = "openapi_ada";
  const password = "correct horse battery";
  const reg = await call("POST", "/api/users/register", { email, username, password });
  assert.equal(reg.status, 201);
  // A second registration with the same username from another email: 409.
  const taken = await call("POST", "/api/users/register", { email: "other@example.test", username, password });
  assert.equal(taken.status, 409);
  const bad = await call("POST", "/api/users/register", { email: "not an email", username: "x", password: "short" });
  assert.equal(bad.status, 400);
  const malformed = await call("POST", "/api/users/register", "{not json");
  assert.equal(malformed.status, 400);
  const wrongCode = await call("POST", "/api/users/verify-otp", { email, otp: "000000", purpose: "verify_email" });
  assert.equal(wrongCode.status, 400);

  const otp = await system.takeOtp(email);
  const verified = await call("POST", "/api/users/verify-otp", { email, otp, purpose: "verify_email" });
  assert.equal(verified.status, 200);
  const token = verified.json.accessToken as string;
  const refreshToken = verified.json.refreshToken as string;

  assert.equal((await call("POST", "/api/users/login", { email, password })).status, 200);
  assert.equal((await call("POST", "/api/users/login", { email, password: "wrong password" })).status, 401);
  // Within the resend cooldown of the code login just mailed: 429 with Retry-After.
  const resend = await call("POST", "/api/users/resend-otp", { email, purpose: "login" });
  assert.equal(resend.status, 429);
  assert.ok(Number(resend.headers.get("retry-after")) > 0);
  const loginOtp = await system.takeOtp(email);
  assert.equal((await call("POST", "/api/users/verify-otp", { email, otp: loginOtp, purpose: "login" })).status, 200);

  const refreshed = await call("POST", "/api/users/refresh", { refreshToken });
  assert.equal(refreshed.status, 200);
  assert.equal((await call("POST", "/api/users/refresh", { refreshToken })).status, 401);
  // The reused refresh token ended that session: sign in again.
  const { token: fresh } = await system.signIn({ email });

  assert.equal((await call("GET", "/api/users/profile")).status, 401);
  assert.equal((await call("GET", "/api/users/profile", undefined, token)).status, 401);
  assert.equal((await call("GET", "/api/users/profile", undefined, fresh)).status, 200);
  const patched = await call(
    "PATCH",
    "/api/users/profile",
    { displayName: "Ada", notificationLevel: "mentions_and_direct", avatarUrl: "https://example.test/a.png" },
    fresh,
  );
  assert.equal(patched.status, 200);
  assert.equal((await call("PATCH", "/api/users/profile", { notificationLevel: "loud" }, fresh)).status, 400);
  assert.equal((await call("GET", "/api/users/sessions", undefined, fresh)).status, 200);

  const bob: SignedUp = await system.signUp("openapi_bob");
  assert.equal((await call("GET", "/api/users/search?prefix=openapi_&limit=5", undefined, fresh)).status, 200);
  assert.equal((await call("GET", "/api/users/search", undefined, fresh)).status, 400);
  assert.equal((await call("GET", `/api/users/${bob.id}`, undefined, fresh)).status, 200);
  assert.equal((await call("GET", "/api/users/00000000-0000-4000-8000-000000000000", undefined, fresh)).status, 404);
  assert.equal((await call("GET", "/api/users/not-a-uuid", undefined, fresh)).status, 400);

  const created = await call(
    "POST",
    "/api/chats/rooms",
    { name: "openapi", topic: "docs", visibility: "public", memberIds: [bob.id] },
    fresh,
  );
  assert.equal(created.status, 201);
  const roomId = (created.json.room as { id: string }).id;
  const unknownRoom = "00000000-0000-4000-8000-000000000000";
  assert.equal((await call("GET", `/api/chats/rooms/${unknownRoom}`, undefined, fresh)).status, 404);
  assert.equal((await call("GET", `/api/chats/rooms/${roomId}`, undefined, fresh)).status, 200);
  assert.equal((await call("PATCH", `/api/chats/rooms/${roomId}`, { memberAddPolicy: "members" }, fresh)).status, 200);
  assert.equal((await call("PATCH", `/api/chats/rooms/${roomId}`, { name: "x" }, bob.token)).status, 403);
  assert.equal((await call("GET", "/api/chats/rooms", undefined, fresh)).status, 200);
  assert.equal((await call("GET", "/api/chats/rooms/public?prefix=open&limit=10", undefined, fresh)).status, 200);

  const sent = await call("POST", "/api/chats/messages", { roomId, message: "Hello, World!" }, fresh);
  assert.equal(sent.status, 201);
  const messageId = (sent.json.message as { id: string }).id;
  const reply = await call("POST", "/api/chats/messages", { roomId, text: "a reply", parentId: messageId }, bob.token);
  assert.equal(reply.status, 201);
  assert.equal((await call("POST", "/api/chats/messages", { roomId }, fresh)).status, 400);
  assert.equal(
    (await call("PATCH", `/api/chats/rooms/${roomId}/messages/${messageId}`, { text: "Hi" }, fresh)).status,
    200,
  );
  assert.equal(
    (await call("PATCH", `/api/chats/rooms/${roomId}/messages/${messageId}`, { text: "no" }, bob.token)).status,
    403,
  );
  const thumbs = encodeURIComponent("👍");
  const reacted = await call(
    "PUT",
    `/api/chats/rooms/${roomId}/messages/${messageId}/reactions/${thumbs}`,
    undefined,
    bob.token,
  );
  assert.equal(reacted.status, 200);
  assert.equal(
    (await call("DELETE", `/api/chats/rooms/${roomId}/messages/${messageId}/reactions/${thumbs}`, undefined, bob.token))
      .status,
    200,
  );
  assert.equal((await call("GET", `/api/chats/rooms/${roomId}/messages?limit=10`, undefined, fresh)).status, 200);
  assert.equal((await call("GET", `/api/chats/rooms/${roomId}/messages?after=0`, undefined, bob.token)).status, 200);
  assert.equal((await call("GET", `/api/chats/rooms/${roomId}/messages?before=-1`, undefined, fresh)).status, 400);
  assert.equal((await call("POST", `/api/chats/rooms/${roomId}/read`, { seq: "1" }, bob.token)).status, 200);
  const events = await call("GET", `/api/chats/rooms/${roomId}/events?after=0`, undefined, fresh);
  assert.equal(events.status, 200);
  assert.ok((events.json.events as unknown[]).length >= 4, "created, two messages, an edit, reactions");
  assert.equal(
    (await call("DELETE", `/api/chats/rooms/${roomId}/messages/${messageId}`, undefined, fresh)).status,
    200,
  );

  const carol = await system.signUp("openapi_carol");
  assert.equal(
    (await call("POST", `/api/chats/rooms/${roomId}/members`, { userIds: [carol.id] }, bob.token)).status,
    200,
  );
  assert.equal((await call("POST", `/api/chats/rooms/${roomId}/members`, { userIds: [] }, fresh)).status, 400);
  assert.equal(
    (await call("PUT", `/api/chats/rooms/${roomId}/members/${carol.id}/role`, { role: "admin" }, fresh)).status,
    200,
  );
  assert.equal((await call("DELETE", `/api/chats/rooms/${roomId}/members/${carol.id}`, undefined, fresh)).status, 200);
  assert.equal((await call("POST", `/api/chats/rooms/${roomId}/join`, undefined, carol.token)).status, 200);
  assert.equal((await call("POST", `/api/chats/rooms/${roomId}/leave`, undefined, carol.token)).status, 200);
  const direct = await call("POST", "/api/chats/direct", { userId: carol.id }, fresh);
  assert.equal(direct.status, 201);
  assert.equal((await call("POST", "/api/chats/direct", { userId: carol.id }, fresh)).status, 200);

  // The web session: signing in by code, refreshing by cookie, and the CSRF guard.
  const csrf = { "x-parley-csrf": "1" };
  assert.equal((await call("POST", "/api/web/session", { email: carol.email, otp: "123456" })).status, 403);
  const res = await system.api("POST", "/api/users/login", { email: carol.email, password });
  assert.equal(res.status, 200);
  const webOtp = await system.takeOtp(carol.email);
  const signedIn = await call(
    "POST",
    "/api/web/session",
    { email: carol.email, otp: webOtp, purpose: "login" },
    undefined,
    csrf,
  );
  assert.equal(signedIn.status, 200);
  assert.equal(signedIn.json.refreshToken, undefined);
  const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  assert.equal((await call("POST", "/api/web/refresh", undefined, undefined, { ...csrf, cookie })).status, 200);
  assert.equal((await call("POST", "/api/web/refresh", undefined, undefined, csrf)).status, 401);
  assert.equal((await call("POST", "/api/web/logout", undefined, undefined, csrf)).status, 200);

  assert.equal((await call("POST", "/api/users/logout-all", undefined, bob.token)).status, 200);
  assert.equal((await call("POST", "/api/users/logout", undefined, fresh)).status, 200);

  // Every answer above was checked; together they cover these statuses.
  const statuses = new Set(checked.map((c) => c.split(" ")[0]));
  for (const s of ["200", "201", "400", "401", "403", "404", "409", "429"])
    assert.ok(statuses.has(s), `no ${s} answer checked`);
});

test("a response that drifts from the document fails its validation", () => {
  checker ??= createAjv();
  const schema = (name: string) => {
    const validate = checker?.getSchema(`openapi#/components/schemas/${name}`);
    assert.ok(validate);
    return validate;
  };
  const message = {
    id: "m",
    roomId: "r",
    seq: "1",
    senderId: "s",
    senderUsername: "ada",
    text: "hi",
    clientMessageId: "",
    parentId: "",
    mentions: [],
    deleted: false,
    reactions: [],
  };
  assert.equal(schema("parley.chat.v1.Message")(message), true);
  // A 64-bit number sent as a JSON number, an unknown field, a missing one: all refused.
  assert.equal(schema("parley.chat.v1.Message")({ ...message, seq: 1 }), false);
  assert.equal(schema("parley.chat.v1.Message")({ ...message, extra: true }), false);
  const { text: _text, ...withoutText } = message;
  assert.equal(schema("parley.chat.v1.Message")(withoutText), false);
  assert.equal(schema("Error")({ error: { code: "not_found", message: "m" } }), false);
});

test("/api/docs shows every operation in Chromium under the pages' CSP, without a violation", async () => {
  browser = await launchChromium();
  const operations = Object.values(paths()).reduce((n, methods) => n + Object.keys(methods).length, 0);
  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const console: string[] = [];
    page.on("console", (msg) => console.push(`${msg.type()}: ${msg.text()}`));
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    // Runs in the page (Playwright's init scripts are not subject to its CSP); the edge's tsconfig has no DOM types.
    await page.addInitScript(`
      globalThis.cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        globalThis.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
    `);
    const res = await page.goto(`${system.edge.url}/api/docs`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
    await page.getByRole("heading", { name: /Parley REST API/ }).waitFor();
    await page
      .locator(".opblock")
      .nth(operations - 1)
      .waitFor({ state: "attached" });
    assert.equal(await page.locator(".opblock").count(), operations);
    await page.getByText("/api/users/register", { exact: true }).first().waitFor();
    // Swagger UI's notices about a document it cannot read in full, and its error panel.
    assert.equal(await page.getByText(/not supported|Resolver error|Errors/).count(), 0);
    const violations = await page.evaluate(() => (globalThis as unknown as { cspViolations: string[] }).cspViolations);
    assert.deepEqual(violations, []);
    assert.deepEqual(
      console.filter((line) => /Content Security Policy|Refused to/i.test(line)),
      [],
    );
    assert.deepEqual(errors, []);
    if (process.env.OPENAPI_SCREENSHOTS) {
      await page.screenshot({ path: `${process.env.OPENAPI_SCREENSHOTS}/docs-${viewport.width}.png` });
      await page.getByText("/api/chats/messages", { exact: true }).first().click();
      await page.getByText("/api/chats/messages", { exact: true }).first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${process.env.OPENAPI_SCREENSHOTS}/docs-${viewport.width}-op.png` });
    }
    await context.close();
  }
});
