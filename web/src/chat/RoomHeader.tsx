import type { RoomState } from "@parley/client";
import { lazy, Suspense, useState } from "react";
import { Link, useLocation } from "wouter";
import { useLeaveRoom } from "../data/queries.js";
import { ArrowLeftIcon, MembersIcon } from "../ui/icons.js";
import { isDirect, useDirectHandle, useRoomName } from "./room-names.js";

const RoomSettingsDialog = lazy(() => import("./RoomSettingsDialog.js"));

export function RoomHeader({
  room,
  moderator,
  membersShown,
  onToggleMembers,
}: {
  room: RoomState;
  moderator: boolean;
  membersShown: boolean;
  onToggleMembers: () => void;
}) {
  const name = useRoomName(room);
  const handle = useDirectHandle(room);
  const [settings, setSettings] = useState(false);
  const leave = useLeaveRoom();
  const [, navigate] = useLocation();
  const direct = isDirect(room);
  const count = room.room?.memberIds.length ?? 0;

  return (
    <header className="room-header">
      <Link href="/" className="icon-button back-button" aria-label="Back to rooms">
        <ArrowLeftIcon size={20} />
      </Link>
      <div className="room-title">
        <h1>
          {direct ? "" : <span aria-hidden="true"># </span>}
          {name}
        </h1>
        {direct && handle ? (
          <p className="room-topic">@{handle}</p>
        ) : (
          room.room?.topic && <p className="room-topic">{room.room.topic}</p>
        )}
      </div>
      <div className="room-header-actions">
        <button type="button" aria-pressed={membersShown} onClick={onToggleMembers}>
          <MembersIcon /> {count}
          <span className="visually-hidden"> members</span>
        </button>
        {!direct && moderator && (
          <button type="button" onClick={() => setSettings(true)}>
            Settings
          </button>
        )}
        {!direct && (
          <button
            type="button"
            onClick={() => {
              if (confirm(`Leave ${name}?`))
                leave.mutate({ roomId: room.roomId }, { onSuccess: () => navigate("/", { replace: true }) });
            }}
          >
            Leave
          </button>
        )}
      </div>
      {settings && (
        <Suspense fallback={null}>
          <RoomSettingsDialog room={room} onClose={() => setSettings(false)} />
        </Suspense>
      )}
    </header>
  );
}
