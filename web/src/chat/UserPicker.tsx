/** Finds people by username; picked ones show as removable chips (or one pick calls onPick at once). */
import type { PublicProfile } from "@parley/proto/user/v1/user_pb.js";
import { useId, useState } from "react";
import { displayName, useUserSearch } from "../data/queries.js";
import { useMe } from "../data/use-parley.js";
import { Avatar } from "../ui/Avatar.js";
import "./user-picker.css";
import { CloseIcon } from "../ui/icons.js";

export function UserPicker({
  label,
  picked = [],
  exclude = [],
  onPick,
  onUnpick,
}: {
  label: string;
  picked?: readonly PublicProfile[];
  exclude?: readonly string[];
  onPick: (user: PublicProfile) => void;
  onUnpick?: (user: PublicProfile) => void;
}) {
  const [query, setQuery] = useState("");
  const me = useMe();
  const search = useUserSearch(query);
  const listId = useId();
  const inputId = useId();
  const hidden = new Set([me?.id, ...exclude, ...picked.map((p) => p.id)]);
  const results = query.trim() ? (search.data?.users ?? []).filter((u) => !hidden.has(u.id)) : [];

  return (
    <div className="user-picker">
      <div className="field">
        <label htmlFor={inputId}>{label}</label>
        {picked.length > 0 && (
          <ul className="chips" aria-label="Chosen people">
            {picked.map((u) => (
              <li key={u.id} className="chip">
                {displayName(u)}
                {onUnpick && (
                  <button type="button" aria-label={`Remove ${displayName(u)}`} onClick={() => onUnpick(u)}>
                    <CloseIcon size={14} />
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        <input
          id={inputId}
          type="search"
          placeholder="Search by username"
          aria-controls={listId}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      <ul id={listId} className="user-results" aria-label="People found" aria-live="polite">
        {results.map((u) => (
          <li key={u.id}>
            <button
              type="button"
              className="user-result"
              onClick={() => {
                onPick(u);
                setQuery("");
              }}
            >
              <Avatar name={displayName(u)} seed={u.id} url={u.avatarUrl} />
              <span>
                <span className="user-result-name">{displayName(u)}</span>
                <span className="user-result-handle">@{u.username}</span>
              </span>
            </button>
          </li>
        ))}
        {query.trim() && search.isFetched && results.length === 0 && <li className="list-empty">Nobody found</li>}
      </ul>
    </div>
  );
}
