/**
 * The SDK's state in React: useSyncExternalStore over the client's store.
 * Selectors return parts of the immutable snapshot, so a component
 * re-renders only when the part it reads changed.
 */
import type { ParleyClient, ParleySnapshot, RoomState } from "@parley/client";
import { createContext, useContext, useSyncExternalStore } from "react";
import { type SessionState, session } from "../session/session.js";

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.getSnapshot);
}

export const ClientContext = createContext<ParleyClient | undefined>(undefined);

export function useClient(): ParleyClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error("useClient outside a signed-in session");
  return client;
}

export function useParley<T>(select: (snapshot: ParleySnapshot) => T): T {
  const client = useClient();
  return useSyncExternalStore(client.subscribe, () => select(client.getSnapshot()));
}

export function useRoom(roomId: string): RoomState | undefined {
  return useParley((s) => s.roomsById.get(roomId));
}

export function useMe() {
  return useParley((s) => s.user);
}
