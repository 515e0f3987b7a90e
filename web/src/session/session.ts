/**
 * The browser's session: whether someone is signed in and, if so, the SDK
 * client that holds their rooms. The access token lives only in the SDK's
 * Auth (memory); on load the refresh cookie, if any, brings the session back.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAuth,
  createIndexedDbOutboxStore,
  createMemoryOutboxStore,
  createParleyClient,
  type ParleyClient,
} from "@parley/client";
import { closeWebSession, cookieRefresh, refreshWebSession, type WebGrant } from "./web-session.js";

export type SessionState =
  | { readonly status: "starting" }
  | { readonly status: "signed-out"; readonly reason?: string }
  | { readonly status: "signed-in"; readonly client: ParleyClient; readonly userId: string };

/** One Auth for the page's life: the Connect transport the app's queries use shares it with the SDK. */
export const auth = createAuth({ refresh: cookieRefresh });

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

async function begin(grant: WebGrant): Promise<void> {
  if (state.status === "signed-in") state.client.close();
  auth.set(grant);
  const client = createParleyClient({ baseUrl: location.origin, auth, outboxStore: outboxStore(grant.userId) });
  client.subscribe(() => {
    if (client.getSnapshot().connection.status === "signed-out" && state.status === "signed-in") {
      if (state.client === client) end("Your session has ended. Please sign in again.");
    }
  });
  set({ status: "signed-in", client, userId: grant.userId });
  await client.start();
}

function end(reason?: string): void {
  const previous = state;
  // Signed out first, so the token listener below sees nothing left to end.
  set(reason === undefined ? { status: "signed-out" } : { status: "signed-out", reason });
  if (previous.status === "signed-in") previous.client.close();
  auth.clear();
}

auth.onChange((token) => {
  if (token === undefined && state.status === "signed-in") end("Your session has ended. Please sign in again.");
});

/** On page load: a refresh cookie, if the browser has one, signs the user back in. */
export async function resumeSession(): Promise<void> {
  let grant: WebGrant;
  try {
    grant = await refreshWebSession();
  } catch (err) {
    const code = ConnectError.from(err).code;
    set(code === Code.Unauthenticated ? { status: "signed-out" } : { status: "signed-out", reason: messageOf(err) });
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
