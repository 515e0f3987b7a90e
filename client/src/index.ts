/** @parley/client: Parley's SDK for browsers and Node (see client/README.md). */
export {
  type Auth,
  type AuthOptions,
  createAuth,
  memoryRefreshTokenStore,
  type RefreshStrategy,
  type RefreshTokenStore,
  refreshTokenStrategy,
  type TokenGrant,
} from "./auth.js";
export { type Backoff, type BackoffOptions, createBackoff } from "./backoff.js";
export { createParleyClient, type ParleyClient, type ParleyClientOptions, type ParleySnapshot } from "./client.js";
export type { ConnectionState, ConnectionStatus, WebSocketConstructor, WebSocketLike } from "./connection.js";
export { type CrossTabRefreshOptions, type LockManagerLike, refreshAcrossTabs } from "./cross-tab-refresh.js";
export { ParleyError } from "./errors.js";
export { createIndexedDbOutboxStore } from "./indexeddb-outbox-store.js";
export type { PendingSend, PendingStatus } from "./outbox.js";
export { createMemoryOutboxStore, type OutboxStore, type StoredSend } from "./outbox-store.js";
export {
  deactivatedPeer,
  hasNewer,
  type LeftBecause,
  type RoomState,
  type RoomStatus,
  type TypingUser,
} from "./room-state.js";
export type { ChatClient, UserClient } from "./rpc.js";
export type { Store } from "./store.js";
