/**
 * The browser's session: whether someone is signed in and, if so, the SDK
 * client that holds their rooms. The access token lives only in the SDK's
 * Auth (memory); on load the refresh cookie, if any, brings the session back.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAuth,
  createBackoff,
  createIndexedDbOutboxStore,
  createMemoryOutboxStore,
  createParleyClient,
  type ParleyClient,
} from "@parley/client";
import { sentenceOf } from "../ui/error-sentence.js";
import { closeWebSession, refreshWebSession, refusalReason, type WebGrant } from "./web-session.js";

export type SessionState =
  | { readonly status: "starting" }
  | { readonly status: "signed-out"; readonly reason?: string }
  | { readonly status: "signed-in"; readonly client: ParleyClient; readonly userId: string };

const SESSION_ENDED = "Your session has ended. Please sign in again.";
const DEACTIVATED = "This account has been deactivated. An administrator can reactivate it.";

/** Why the last refresh was refused (the REST error's reason), to say why the session ended. */
let refusal: string | undefined;
/** A grant for another account than the page's, refused to the page's client: the page starts over with it. */
let switchTo: WebGrant | undefined;

/**
 * The cookie refresh, remembering why it was refused. A grant for someone
 * else (another tab signed in as another account: the cookie is the origin's)
 * is not taken by this page's client, whose outbox is the signed-in user's:
 * the page starts over as that account instead.
 */
async function refreshAsSignedInUser(): Promise<WebGrant> {
  let grant: WebGrant;
  try {
    grant = await refreshWebSession();
  } catch (err) {
    if (isRefused(err)) refusal = refusalReason(err);
    throw err;
  }
  if (state.status === "signed-in" && grant.userId !== state.userId) {
    switchTo = grant;
    throw new ConnectError("signed in as another account in another tab", Code.Unauthenticated);
  }
  return grant;
}

/** One Auth for the page's life: the Connect transport the app's queries use shares it with the SDK. */
export const auth = createAuth({ refresh: refreshAsSignedInUser });

let state: SessionState = { status: "starting" };
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  for (const l of [...listeners]) l();
}

export const session = {
  getSnapshot: (): SessionState => state,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

function outboxStore(userId: string) {
  try {
    return createIndexedDbOutboxStore({ name: `parley-outbox-${userId}` });
  } catch {
    // Private windows of some browsers have no IndexedDB: sends then survive reconnects, not reloads.
    return createMemoryOutboxStore();
  }
}

/**
 * Who was signed in on this browser, kept across loads: a load whose refresh
 * cannot reach the server opens that user's app (and outbox) offline rather
 * than the sign-in page. Only the id: the credential stays in the httpOnly cookie.
 */
const USER_KEY = "parley-signed-in-user";

function rememberUser(userId: string): void {
  try {
    localStorage.setItem(USER_KEY, userId);
  } catch {
    // No storage (a locked-down browser): an offline load then shows the sign-in page.
  }
}

function rememberedUser(): string | undefined {
  try {
    return localStorage.getItem(USER_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function forgetUser(): void {
  try {
    localStorage.removeItem(USER_KEY);
  } catch {
    // Nothing was kept.
  }
}

function open(userId: string): ParleyClient {
  if (state.status === "signed-in") state.client.close();
  refusal = undefined;
  rememberUser(userId);
  const client = createParleyClient({ baseUrl: location.origin, auth, outboxStore: outboxStore(userId) });
  client.subscribe(() => {
    if (client.getSnapshot().connection.status === "signed-out" && state.status === "signed-in") {
      if (state.client === client) end(endedNotice());
    }
  });
  set({ status: "signed-in", client, userId });
  return client;
}

async function begin(grant: WebGrant): Promise<void> {
  auth.set(grant);
  await open(grant.userId).start();
}

/**
 * The refresh at load could not reach the server (offline, or the edge is
 * away): the remembered user's app opens without a token, showing their
 * outbox as pending, and the refresh is tried again with backoff and as
 * soon as the browser says it is online. The socket and every call also wait
 * for it (Auth.resume), so when one succeeds everything carries on: the
 * socket authenticates, the rooms load and the outbox sends.
 */
async function beginOffline(userId: string): Promise<void> {
  auth.resume();
  const client = open(userId);
  retryResume(client);
  await client.start();
}

function retryResume(client: ParleyClient): void {
  // Jittered, from about 1 s up to 30 s: the SDK's own backoff, as its socket uses.
  const backoff = createBackoff({ baseMs: 1_000, maxMs: 30_000 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    clearTimeout(timer);
    window.removeEventListener("online", now);
  };
  const attempt = () => {
    clearTimeout(timer);
    if (state.status !== "signed-in" || state.client !== client) return stop();
    // token(): a refresh while resuming, the token once someone else's refresh got it, undefined once refused.
    auth.token().then(stop, (err: unknown) => {
      if (isRefused(err)) return stop();
      timer = setTimeout(attempt, backoff.next());
    });
  };
  function now(): void {
    backoff.reset();
    attempt();
  }
  window.addEventListener("online", now);
  timer = setTimeout(attempt, backoff.next());
}

function end(reason?: string): void {
  const previous = state;
  forgetUser();
  // Signed out first, so the token listener below sees nothing left to end.
  set(reason === undefined ? { status: "signed-out" } : { status: "signed-out", reason });
  if (previous.status === "signed-in") previous.client.close();
  auth.clear();
}

/** What the sign-in page says about a session that ended by itself. */
function endedNotice(): string {
  return refusal === "ACCOUNT_DEACTIVATED" ? DEACTIVATED : SESSION_ENDED;
}

auth.onChange((token) => {
  if (token !== undefined || state.status !== "signed-in") return;
  const next = switchTo;
  switchTo = undefined;
  if (!next) return end(endedNotice());
  // Closed now, so its socket hearing this refusal ends nothing; the new client once every listener has heard it.
  state.client.close();
  set({ status: "starting" });
  setTimeout(() => void begin(next).catch((err: unknown) => console.warn("starting the session:", err)), 0);
});

/**
 * The session is over and only signing in can help: the refresh was refused
 * (unauthenticated), or the account may not sign in (permission denied:
 * ACCOUNT_DEACTIVATED). Anything else (the network, an edge that is away)
 * says nothing about the session.
 */
function isRefused(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.Unauthenticated || code === Code.PermissionDenied;
}

/** On page load: a refresh cookie, if the browser has one, signs the user back in. */
export async function resumeSession(): Promise<void> {
  let grant: WebGrant;
  try {
    grant = await refreshAsSignedInUser();
  } catch (err) {
    const userId = rememberedUser();
    if (!isRefused(err) && userId !== undefined) {
      await beginOffline(userId).catch((e: unknown) => console.warn("starting the session offline:", e));
      return;
    }
    forgetUser();
    const code = ConnectError.from(err).code;
    if (code === Code.Unauthenticated) set({ status: "signed-out" });
    else
      set({
        status: "signed-out",
        reason: refusal === "ACCOUNT_DEACTIVATED" ? DEACTIVATED : sentenceOf(messageOf(err)),
      });
    return;
  }
  await begin(grant).catch((err: unknown) => {
    // The client retries its socket on its own; a failed first fetch is shown, not fatal.
    console.warn("starting the session:", err);
  });
}

/** After the code was verified: the grant from the edge's session route. */
export async function signedIn(grant: WebGrant): Promise<void> {
  await begin(grant);
}

export async function signOut(): Promise<void> {
  try {
    await closeWebSession();
  } finally {
    end();
  }
}

/** Ends every session of the user (this one included), then this browser's. */
export async function signOutEverywhere(): Promise<void> {
  if (state.status !== "signed-in") return;
  try {
    await state.client.users.logoutAll({});
  } finally {
    await signOut().catch(() => end());
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage;
  if (err instanceof Error) return err.message;
  return String(err);
}
