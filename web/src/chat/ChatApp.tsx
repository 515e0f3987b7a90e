/**
 * The signed-in app: the sidebar beside the open room or settings page. On a
 * phone one of them fills the screen: the room list at `/`, a room at its URL.
 */
import { lazy, Suspense, useEffect } from "react";
import { Redirect, Route, Switch, useLocation } from "wouter";
import { Loading } from "../ui/Loading.js";
import { ConnectionBanner } from "./ConnectionBanner.js";
import { lastRoom, rememberRoom } from "./last-room.js";
import { RoomView } from "./RoomView.js";
import { Sidebar } from "./Sidebar.js";

const SettingsPage = lazy(() => import("../settings/SettingsPage.js"));

export default function ChatApp() {
  const [path] = useLocation();
  const roomMatch = /^\/rooms\/([^/]+)$/.exec(path);
  const roomId = roomMatch ? decodeURIComponent(roomMatch[1] as string) : undefined;
  useEffect(() => {
    if (roomId) rememberRoom(roomId);
  }, [roomId]);
  const home = path === "/";
  const wide = useWideScreen();

  return (
    <div className={`app-shell ${home ? "at-home" : "in-page"}`}>
      <a className="skip-link" href="#main">
        Skip to conversation
      </a>
      <Sidebar currentRoomId={roomId} />
      <main id="main" className="main-pane" tabIndex={-1}>
        <ConnectionBanner />
        <Switch>
          <Route path="/rooms/:id">{(params) => <RoomView key={params.id} roomId={params.id} />}</Route>
          <Route path="/settings/:tab">
            {(params) => (
              <Suspense fallback={<Loading label="Loading settings" />}>
                <SettingsPage tab={params.tab === "sessions" ? "sessions" : "profile"} />
              </Suspense>
            )}
          </Route>
          <Route path="/">
            {wide && lastRoom() ? <Redirect to={`/rooms/${lastRoom()}`} replace /> : <EmptyMain />}
          </Route>
          <Route>
            <EmptyMain />
          </Route>
        </Switch>
      </main>
    </div>
  );
}

function EmptyMain() {
  return (
    <div className="empty-main">
      <h1>Welcome to Parley</h1>
      <p>Pick a room on the left, browse public rooms, or start a direct message.</p>
    </div>
  );
}

const WIDE = "(min-width: 721px)";

/** On a phone `/` is the room list; on a wide screen it opens the last room beside it. */
function useWideScreen(): boolean {
  return typeof matchMedia === "function" ? matchMedia(WIDE).matches : true;
}
