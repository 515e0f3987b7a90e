/** My rooms and direct messages by latest activity, and the ways to find or start more. */
import { lazy, Suspense, useState } from "react";
import { createPortal } from "react-dom";
import { Link } from "wouter";
import { useDisplayName, useProfile } from "../data/queries.js";
import { useMe, useParley } from "../data/use-parley.js";
import { Avatar } from "../ui/Avatar.js";
import { PlusIcon, SearchIcon, SettingsIcon } from "../ui/icons.js";
import { RoomListItem } from "./RoomListItem.js";
import { isDirect } from "./room-names.js";

const CreateRoomDialog = lazy(() => import("./CreateRoomDialog.js"));
const RoomDirectoryDialog = lazy(() => import("./RoomDirectoryDialog.js"));
const NewDirectMessageDialog = lazy(() => import("./NewDirectMessageDialog.js"));

type Dialog = "create" | "directory" | "dm" | undefined;

export function Sidebar({ currentRoomId }: { currentRoomId: string | undefined }) {
  const rooms = useParley((s) => s.rooms);
  const [dialog, setDialog] = useState<Dialog>();
  const groups = rooms.filter((r) => !isDirect(r));
  const directs = rooms.filter((r) => isDirect(r));
  const close = () => setDialog(undefined);

  return (
    <nav className="sidebar" aria-label="Rooms">
      <header className="sidebar-header">
        <Link href="/" className="brand">
          <img src="/icon.svg" alt="" width="28" height="28" />
          <span>Parley</span>
        </Link>
      </header>
      <div className="sidebar-actions">
        <button type="button" onClick={() => setDialog("create")}>
          <PlusIcon size={16} /> New room
        </button>
        <button type="button" onClick={() => setDialog("directory")}>
          <SearchIcon size={16} /> Browse rooms
        </button>
      </div>
      <div className="room-lists">
        <section aria-labelledby="rooms-heading">
          <h2 id="rooms-heading" className="list-heading">
            Rooms
          </h2>
          {groups.length === 0 ? (
            <p className="list-empty">No rooms yet. Create one or browse public rooms.</p>
          ) : (
            <ul className="room-list">
              {groups.map((r) => (
                <RoomListItem key={r.roomId} room={r} current={r.roomId === currentRoomId} />
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="dms-heading">
          <div className="list-heading-row">
            <h2 id="dms-heading" className="list-heading">
              Direct messages
            </h2>
            <button
              type="button"
              className="icon-button"
              aria-label="New direct message"
              onClick={() => setDialog("dm")}
            >
              <PlusIcon />
            </button>
          </div>
          {directs.length === 0 ? (
            <p className="list-empty">No conversations yet.</p>
          ) : (
            <ul className="room-list">
              {directs.map((r) => (
                <RoomListItem key={r.roomId} room={r} current={r.roomId === currentRoomId} />
              ))}
            </ul>
          )}
        </section>
      </div>
      <MyAccount />
      {/* In the body, so a dialog stays visible when a phone hides the sidebar behind a room. */}
      {createPortal(
        <Suspense fallback={null}>
          {dialog === "create" && <CreateRoomDialog onClose={close} />}
          {dialog === "directory" && <RoomDirectoryDialog onClose={close} />}
          {dialog === "dm" && <NewDirectMessageDialog onClose={close} />}
        </Suspense>,
        document.body,
      )}
    </nav>
  );
}

function MyAccount() {
  const me = useMe();
  const profile = useProfile(me?.id);
  const name = useDisplayName(me?.id, me?.username ?? "");
  return (
    <footer className="sidebar-footer">
      <Avatar name={name} seed={me?.id ?? ""} url={profile?.avatarUrl} online />
      <div className="me">
        <span className="me-name">{name}</span>
        <span className="me-status">{profile?.statusText || `@${me?.username ?? ""}`}</span>
      </div>
      <Link href="/settings/profile" className="icon-button" aria-label="Settings">
        <SettingsIcon size={20} />
      </Link>
    </footer>
  );
}
