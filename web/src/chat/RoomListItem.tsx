import type { RoomState } from "@parley/client";
import { Link } from "wouter";
import { useDisplayName, useProfile } from "../data/queries.js";
import { useMe, useParley } from "../data/use-parley.js";
import { Avatar } from "../ui/Avatar.js";
import { shortTime } from "../ui/time.js";
import { isDirect, isMentioned, useDirectHandle, useDirectPeer, useRoomName } from "./room-names.js";

export function RoomListItem({ room, current }: { room: RoomState; current: boolean }) {
  const me = useMe();
  const name = useRoomName(room);
  const handle = useDirectHandle(room);
  const peer = useDirectPeer(room);
  const peerProfile = useProfile(peer);
  const online = useParley((s) => (peer ? s.presence.get(peer) : undefined));
  const last = room.lastMessage;
  const sender = useDisplayName(last?.senderId, last?.senderUsername);
  const unread = Number(room.unreadCount);
  const mentioned = isMentioned(room);
  const preview = !last
    ? room.room?.topic || "No messages yet"
    : last.deleted
      ? "Message deleted"
      : last.senderId === me?.id
        ? `You: ${last.text}`
        : isDirect(room)
          ? last.text
          : `${sender}: ${last.text}`;
  const unreadLabel = unread > 0 ? `, ${unread} unread${mentioned ? ", mentions you" : ""}` : "";

  return (
    <li>
      <Link
        href={`/rooms/${encodeURIComponent(room.roomId)}`}
        className={`room-item${current ? " current" : ""}${unread > 0 ? " unread" : ""}`}
        aria-current={current ? "page" : undefined}
      >
        {isDirect(room) ? (
          <Avatar name={name} seed={peer ?? room.roomId} url={peerProfile?.avatarUrl} online={online} />
        ) : (
          <span className="room-glyph" aria-hidden="true">
            #
          </span>
        )}
        <span className="room-item-text">
          <span className="room-item-top">
            <span className="room-name">
              {name}
              {unreadLabel && <span className="visually-hidden">{unreadLabel}</span>}
            </span>
            {last && <time className="room-time">{shortTime(last.createdAt)}</time>}
          </span>
          <span className="room-item-bottom">
            <span className="room-preview">
              {/* First on the line, where an ellipsis cannot cut it: the name above may copy someone else's. */}
              {handle && <span className="message-handle">@{handle} · </span>}
              {preview}
            </span>
            {unread > 0 && (
              <span className={`badge${mentioned ? " mention" : ""}`} aria-hidden="true">
                {mentioned && !isDirect(room) ? "@ " : ""}
                {unread > 99 ? "99+" : unread}
              </span>
            )}
          </span>
        </span>
      </Link>
    </li>
  );
}
