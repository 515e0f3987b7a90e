/**
 * Each user's own feed: the rooms they gain and lose. chat-svc publishes a
 * RoomAccess event (ephemeral, on the same channel as room events, so it
 * reaches every edge's one event stream from whichever chat-svc instance
 * committed the change) when a user becomes or stops being a member; here
 * it becomes `roomAdded` or `roomRemoved` on that user's authenticated
 * sockets on this edge, whatever they subscribe to.
 *
 * Costs nothing per room event: the gateway hands this only RoomAccess
 * events, and one is one map lookup and, for a user with sockets here, one
 * encoding shared by all of them.
 *
 * The announcements are live only. When the edge's event stream (re)opens,
 * some may have been lost while it was down: every socket here is told
 * `roomListStale`, to read its room list again.
 */
import { MemberChanged_Change, type RoomAccess } from "@parley/proto/chat/v1/chat_pb.js";
import { broadcastFrame, encodeServerFrame, type OutFrame } from "./frame-codec.js";

/** Unsubscribed.reason and RoomRemoved.reason alike. */
export const REASON_REMOVED = "REMOVED_FROM_ROOM";
export const REASON_LEFT = "LEFT_ROOM";

export interface FeedSocket {
  write(frame: OutFrame, type: string): boolean;
}

export class UserFeed<S extends FeedSocket = FeedSocket> {
  private readonly byUser = new Map<string, Set<S>>();

  /** A socket signed in as `userId`. */
  add(userId: string, socket: S): void {
    let sockets = this.byUser.get(userId);
    if (!sockets) {
      sockets = new Set();
      this.byUser.set(userId, sockets);
    }
    sockets.add(socket);
  }

  remove(userId: string, socket: S): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    sockets.delete(socket);
    if (sockets.size === 0) this.byUser.delete(userId);
  }

  dispatch(roomId: string, access: RoomAccess): void {
    const sockets = this.byUser.get(access.userId);
    if (!sockets) return;
    const kind = toFrame(roomId, access);
    const frame = broadcastFrame(encodeServerFrame({ kind }));
    // No copy: a Set iterates safely while a socket closing on a slow write removes itself.
    for (const socket of sockets) socket.write(frame, kind.case);
  }

  /** Announcements may have been missed (the event stream reopened). */
  stale(): void {
    if (this.byUser.size === 0) return;
    const frame = broadcastFrame(encodeServerFrame({ kind: { case: "roomListStale", value: {} } }));
    for (const sockets of this.byUser.values()) for (const socket of sockets) socket.write(frame, "roomListStale");
  }

  socketCount(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }
}

function toFrame(roomId: string, { change, room }: RoomAccess) {
  if (change === MemberChanged_Change.JOINED && room) return { case: "roomAdded" as const, value: { room } };
  const reason = change === MemberChanged_Change.REMOVED ? REASON_REMOVED : REASON_LEFT;
  return { case: "roomRemoved" as const, value: { roomId, reason } };
}
