import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import { lazy, memo, Suspense, useState } from "react";
import { handleBeside, useDisplayName, useProfile } from "../data/queries.js";
import { useClient, useMe } from "../data/use-parley.js";
import { Avatar } from "../ui/Avatar.js";
import { IconButton } from "../ui/IconButton.js";
import { DeleteIcon, EditIcon, ReactIcon, ReplyIcon } from "../ui/icons.js";
import { clockTime, fullTime } from "../ui/time.js";
import { MessageText } from "./MessageText.js";
import { Reactions } from "./Reactions.js";
import type { Draft } from "./RoomView.js";

const ReactionPicker = lazy(() => import("./ReactionPicker.js"));

export const MessageItem = memo(function MessageItem({
  message,
  grouped,
  parent,
  mine,
  moderator,
  readOnly,
  highlighted,
  onDraft,
  onJump,
}: {
  message: Message;
  grouped: boolean;
  parent: Message | undefined;
  mine: boolean;
  moderator: boolean;
  /** The room takes nothing new: only deleting stays (one's own messages are still one's own). */
  readOnly: boolean;
  highlighted: boolean;
  onDraft: (draft: Draft) => void;
  onJump: (messageId: string) => void;
}) {
  const client = useClient();
  const me = useMe();
  const profile = useProfile(message.senderId);
  const name = useDisplayName(message.senderId, message.senderUsername);
  const handle = handleBeside(name, profile?.username ?? message.senderUsername);
  const who = handle ? `${name} (@${handle})` : name;
  const [picking, setPicking] = useState(false);
  const mentionsMe = !!me && message.mentions.includes(me.username.toLowerCase());

  const remove = () => {
    if (confirm("Delete this message? Everyone will see that it was deleted.")) {
      void client.deleteMessage(message.roomId, message.id).catch((err: unknown) => alert(String(err)));
    }
  };

  return (
    <article
      className={`message${grouped ? " grouped" : ""}${mentionsMe ? " mentions-me" : ""}${highlighted ? " highlighted" : ""}`}
      aria-label={`${who}, ${fullTime(message.createdAt)}`}
      data-message-id={message.id}
    >
      <div className="message-gutter">
        {grouped ? (
          <time className="message-hover-time" dateTime={message.createdAt ? fullTime(message.createdAt) : undefined}>
            {clockTime(message.createdAt)}
          </time>
        ) : (
          <Avatar name={name} seed={message.senderId} url={profile?.avatarUrl} size={36} />
        )}
      </div>
      <div className="message-main">
        {!grouped && (
          <div className="message-header">
            <span className="message-sender">{name}</span>
            {handle && <span className="message-handle">@{handle}</span>}
            <time className="message-time" title={fullTime(message.createdAt)}>
              {clockTime(message.createdAt)}
            </time>
          </div>
        )}
        {message.parentId && <ReplyQuote parentId={message.parentId} parent={parent} onJump={onJump} />}
        {message.deleted ? (
          <p className="message-text deleted">This message was deleted.</p>
        ) : (
          <p className="message-text">
            <MessageText text={message.text} me={me?.username.toLowerCase()} />
            {message.editedAt && (
              <span className="edited" title={`Edited ${fullTime(message.editedAt)}`}>
                {" "}
                (edited)
              </span>
            )}
          </p>
        )}
        {!message.deleted && message.reactions.length > 0 && <Reactions message={message} readOnly={readOnly} />}
      </div>
      {!message.deleted && (!readOnly || mine || moderator) && (
        <div className="message-actions" role="toolbar" aria-label={`Actions for ${who}'s message`}>
          {!readOnly && (
            <>
              <IconButton label="Add reaction" onClick={() => setPicking(true)}>
                <ReactIcon />
              </IconButton>
              <IconButton label="Reply" onClick={() => onDraft({ kind: "reply", message })}>
                <ReplyIcon />
              </IconButton>
            </>
          )}
          {mine && !readOnly && (
            <IconButton label="Edit" onClick={() => onDraft({ kind: "edit", message })}>
              <EditIcon />
            </IconButton>
          )}
          {(mine || moderator) && (
            <IconButton label="Delete" onClick={remove}>
              <DeleteIcon />
            </IconButton>
          )}
        </div>
      )}
      {picking && (
        <Suspense fallback={null}>
          <ReactionPicker
            onPick={(emoji) => {
              setPicking(false);
              const already = message.reactions.find((r) => r.emoji === emoji)?.userIds.includes(me?.id ?? "");
              if (!already) void client.react(message.roomId, message.id, emoji).catch(() => undefined);
            }}
            onClose={() => setPicking(false)}
          />
        </Suspense>
      )}
    </article>
  );
});

function ReplyQuote({
  parentId,
  parent,
  onJump,
}: {
  parentId: string;
  parent: Message | undefined;
  onJump: (id: string) => void;
}) {
  const parentProfile = useProfile(parent?.senderId);
  const name = useDisplayName(parent?.senderId, parent?.senderUsername);
  const handle = handleBeside(name, parentProfile?.username ?? parent?.senderUsername);
  const text = !parent ? "Earlier message" : parent.deleted ? "This message was deleted." : parent.text;
  return (
    <button type="button" className="reply-quote" onClick={() => onJump(parentId)}>
      <span className="visually-hidden">Jump to the message this replies to: </span>
      {parent && (
        <span className="reply-quote-sender">
          {name}
          {handle && <span className="message-handle"> @{handle}</span>}
        </span>
      )}
      <span className="reply-quote-text">{text}</span>
    </button>
  );
}
