/**
 * Writes, replies to and edits messages. Enter sends, Shift+Enter starts a
 * new line (on a touch-first device, whose keyboard has no Shift+Enter, Enter
 * starts a new line and the Send button sends), Escape cancels a reply or
 * edit, ↑ in an empty box edits my last message. Typing `@` offers the room's
 * members (↑/↓, Enter or Tab to pick). Only writing a new message or a reply
 * tells the room that I am typing: an edit changes what was already said.
 */
import type { RoomState } from "@parley/client";
import type { PublicProfile } from "@parley/proto/user/v1/user_pb.js";
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from "react";
import { displayName, useDisplayName, useProfiles } from "../data/queries.js";
import { useClient, useMe } from "../data/use-parley.js";
import { messageOf } from "../session/session.js";
import { Avatar } from "../ui/Avatar.js";
import { sentenceOf } from "../ui/error-sentence.js";
import { CloseIcon } from "../ui/icons.js";
import { oneLine } from "../ui/one-line.js";
import type { Draft } from "./RoomView.js";
import { useRoomName } from "./room-names.js";

const MAX_LENGTH = 4000;
const MENTION_AT_CARET = /(?:^|[^A-Za-z0-9_@])@([A-Za-z0-9_]{0,32})$/;
/** A finger, not a mouse, is the main pointer: a phone or tablet, whose on-screen Enter is the only way to a new line. */
const TOUCH_FIRST = "(pointer: coarse)";

const touchFirst = () => typeof matchMedia === "function" && matchMedia(TOUCH_FIRST).matches;

export function Composer({ room, draft, onDraft }: { room: RoomState; draft: Draft; onDraft: (draft: Draft) => void }) {
  const client = useClient();
  const me = useMe();
  // One line: a name with a line break would otherwise wrap the placeholder over several.
  const name = oneLine(useRoomName(room));
  const [text, setText] = useState("");
  const [error, setError] = useState<string>();
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const box = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const members = useProfiles(room.room?.memberIds ?? []);
  const replyName = useDisplayName(draft?.message.senderId, draft?.message.senderUsername);

  useEffect(() => {
    if (draft?.kind === "edit") setText(draft.message.text);
    if (draft) box.current?.focus();
  }, [draft]);

  const mentionQuery = MENTION_AT_CARET.exec(text.slice(0, caret))?.[1];
  const suggestions = useMemo(() => {
    if (mentionQuery === undefined) return [];
    const q = mentionQuery.toLowerCase();
    const found = [...members.values()]
      .filter((u) => u.id !== me?.id)
      .filter((u) => u.username.toLowerCase().startsWith(q) || u.displayName.toLowerCase().startsWith(q))
      .slice(0, 6);
    // A name typed out in full needs no completing: Enter sends.
    return found.some((u) => u.username.toLowerCase() === q) ? [] : found;
  }, [mentionQuery, members, me?.id]);
  const open = suggestions.length > 0;

  const pickMention = (user: PublicProfile) => {
    const before = text.slice(0, caret).replace(/@[A-Za-z0-9_]*$/, `@${user.username} `);
    const next = before + text.slice(caret);
    setText(next);
    setActive(0);
    requestAnimationFrame(() => {
      box.current?.setSelectionRange(before.length, before.length);
      setCaret(before.length);
    });
  };

  const submit = async () => {
    const body = text.trim();
    if (!body) return;
    setError(undefined);
    // Cleared at once, so what is typed next is never wiped when this send settles; given back if it fails.
    setText("");
    onDraft(undefined);
    try {
      if (draft?.kind === "edit") {
        if (body !== draft.message.text) await client.edit(room.roomId, draft.message.id, body);
      } else {
        await client.send(room.roomId, body, draft?.kind === "reply" ? { parentId: draft.message.id } : undefined);
      }
    } catch (err) {
      setError(sentenceOf(messageOf(err)));
      setText((current) => current || body);
      onDraft(draft);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        setActive((i) => (i + step + suggestions.length) % suggestions.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        const user = suggestions[active] ?? suggestions[0];
        if (user) pickMention(user);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setCaret(-1);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing && !touchFirst()) {
      e.preventDefault();
      void submit();
    } else if (e.key === "Escape" && draft) {
      e.preventDefault();
      onDraft(undefined);
      if (draft.kind === "edit") setText("");
    } else if (e.key === "ArrowUp" && text === "" && !draft) {
      const last = [...room.messages].reverse().find((m) => m.senderId === me?.id && !m.deleted);
      if (last) {
        e.preventDefault();
        onDraft({ kind: "edit", message: last });
      }
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {draft && (
        <div className="composer-draft">
          <span>
            {draft.kind === "reply" ? (
              <>
                Replying to <strong>{replyName}</strong>: <span className="draft-quote">{draft.message.text}</span>
              </>
            ) : (
              "Editing your message"
            )}
          </span>
          <button
            type="button"
            className="icon-button"
            aria-label={draft.kind === "reply" ? "Cancel reply" : "Cancel editing"}
            onClick={() => {
              onDraft(undefined);
              if (draft.kind === "edit") setText("");
            }}
          >
            <CloseIcon />
          </button>
        </div>
      )}
      {open && (
        <div id={listId} className="mention-suggestions" role="listbox" aria-label="People to mention">
          {suggestions.map((u, i) => (
            <div
              key={u.id}
              id={`${listId}-${i}`}
              role="option"
              tabIndex={-1}
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                pickMention(u);
              }}
            >
              <Avatar name={displayName(u)} seed={u.id} url={u.avatarUrl} size={24} />
              <span>{displayName(u)}</span> <span className="user-result-handle">@{u.username}</span>
            </div>
          ))}
        </div>
      )}
      <div className="composer-row">
        <textarea
          ref={box}
          rows={1}
          maxLength={MAX_LENGTH}
          aria-label={`Message ${name}`}
          placeholder={`Message ${name}`}
          role="combobox"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-autocomplete="list"
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setCaret(e.target.selectionStart);
            setActive(0);
            if (e.target.value && draft?.kind !== "edit") client.typing(room.roomId);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary send-button" disabled={!text.trim()}>
          {draft?.kind === "edit" ? "Save" : "Send"}
        </button>
      </div>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
