import { useState } from "react";
import { useLocation } from "wouter";
import { useJoinRoom, usePublicRooms } from "../data/queries.js";
import { useParley } from "../data/use-parley.js";
import { Dialog } from "../ui/Dialog.js";
import { ErrorText } from "../ui/ErrorText.js";
import "./room-directory.css";

export default function RoomDirectoryDialog({ onClose }: { onClose: () => void }) {
  const [query, setQuery] = useState("");
  const rooms = usePublicRooms(query);
  const mine = useParley((s) => s.roomsById);
  const join = useJoinRoom();
  const [, navigate] = useLocation();
  const open = (roomId: string) => {
    onClose();
    navigate(`/rooms/${roomId}`);
  };

  return (
    <Dialog title="Public rooms" onClose={onClose}>
      <label className="field">
        <span>Search rooms</span>
        <input type="search" placeholder="Room name" value={query} onChange={(e) => setQuery(e.target.value)} />
      </label>
      <ErrorText error={rooms.error ?? join.error} />
      <ul className="directory" aria-live="polite" aria-busy={rooms.isFetching}>
        {(rooms.data?.rooms ?? []).map((room) => {
          const member = mine.has(room.id) && mine.get(room.id)?.status !== "left";
          return (
            <li key={room.id} className="directory-item">
              <div>
                <div className="directory-name"># {room.name}</div>
                {room.topic && <div className="directory-topic">{room.topic}</div>}
              </div>
              {member ? (
                <button type="button" onClick={() => open(room.id)}>
                  Open
                </button>
              ) : (
                <button
                  type="button"
                  className="primary"
                  aria-label={`Join ${room.name}`}
                  disabled={join.isPending}
                  onClick={() => join.mutate({ roomId: room.id }, { onSuccess: () => open(room.id) })}
                >
                  Join
                </button>
              )}
            </li>
          );
        })}
        {rooms.isFetched && (rooms.data?.rooms.length ?? 0) === 0 && (
          <li className="list-empty">No public rooms found</li>
        )}
      </ul>
    </Dialog>
  );
}
