/**
 * Where a room stood once the user is no longer in it (removed, left on
 * another device) or it never was theirs: says which, and leads back to the
 * room list, on a phone too, where this fills the screen.
 */
import type { RoomState } from "@parley/client";
import { Link } from "wouter";
import { ArrowLeftIcon } from "../ui/icons.js";
import { useRoomName } from "./room-names.js";

export function RoomGone({ room }: { room: RoomState | undefined }) {
  const name = useRoomName(room);
  const known = !!room?.room;
  const [title, text] =
    room?.leftBecause === "removed"
      ? [
          "You were removed from this room",
          `An owner or admin of ${known ? `“${name}”` : "the room"} removed you. Its messages are no longer shown to you.`,
        ]
      : room?.leftBecause === "left"
        ? ["You left this room", `You left ${known ? `“${name}”` : "it"}, perhaps on another device.`]
        : [
            "This room isn't available",
            "It doesn't exist, or you're not a member. Public rooms can be joined from “Browse rooms”.",
          ];
  return (
    <div className="room-view">
      <header className="room-header">
        <Link href="/" className="icon-button back-button" aria-label="Back to rooms">
          <ArrowLeftIcon />
        </Link>
        <div className="room-title">
          <h1>{title}</h1>
        </div>
      </header>
      <div className="empty-main room-gone">
        <p>{text}</p>
        <Link href="/" className="room-gone-link">
          Back to your rooms
        </Link>
      </div>
    </div>
  );
}
