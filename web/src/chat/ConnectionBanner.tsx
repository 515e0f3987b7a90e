/** Says when live updates are off, and that what is sent meanwhile waits to be delivered. */
import { useEffect, useState } from "react";
import { useClient, useParley } from "../data/use-parley.js";
import { useOnline } from "../ui/use-online.js";

export function ConnectionBanner() {
  const client = useClient();
  const connection = useParley((s) => s.connection);
  const pending = useParley((s) => s.rooms.reduce((n, r) => n + r.pending.length, 0));
  const online = useOnline();
  const down = !online || connection.status === "reconnecting" || connection.status === "connecting";
  // A first connect is quick: say nothing unless it takes a while or fails.
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!down) {
      setShown(false);
      return;
    }
    const timer = setTimeout(() => setShown(true), connection.status === "connecting" && online ? 1500 : 0);
    return () => clearTimeout(timer);
  }, [down, connection.status, online]);

  if (!down || !shown) return null;
  const waiting = pending > 0 ? ` ${pending} message${pending === 1 ? "" : "s"} will be sent when you're back.` : "";
  return (
    <div className="connection-banner" role="status">
      <span>
        {online ? "Reconnecting…" : "You're offline."}
        {waiting}
      </span>
      {online && connection.status === "reconnecting" && (
        <button type="button" className="small" onClick={() => client.reconnect()}>
          Retry now
        </button>
      )}
    </div>
  );
}
