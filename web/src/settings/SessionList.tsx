import { useState } from "react";
import { useSessions } from "../data/queries.js";
import { signOut, signOutEverywhere } from "../session/session.js";
import { ErrorText } from "../ui/ErrorText.js";
import { fullTime } from "../ui/time.js";
import { describeDevice } from "./device-name.js";

export function SessionList() {
  const sessions = useSessions();
  const [error, setError] = useState<unknown>();
  const run = (action: () => Promise<void>) => () => void action().catch(setError);
  return (
    <div className="stack settings-form">
      <h2>Where you're signed in</h2>
      <ErrorText error={sessions.error ?? error} />
      <ul className="sessions">
        {(sessions.data?.sessions ?? []).map((s) => (
          <li key={s.id} className="session">
            <div>
              <strong title={s.userAgent || undefined}>{describeDevice(s.userAgent)}</strong>
              {s.current && <span className="tag">This browser</span>}
            </div>
            <div className="hint">
              {s.ip} · last active {fullTime(s.lastUsedAt)} · signed in {fullTime(s.createdAt)}
            </div>
          </li>
        ))}
      </ul>
      <div className="session-actions">
        <button type="button" onClick={run(signOut)}>
          Log out
        </button>
        <button type="button" className="danger" onClick={run(signOutEverywhere)}>
          Log out everywhere
        </button>
      </div>
    </div>
  );
}
