/** A message's reactions: each emoji with its count; mine are pressed; the title says who reacted. */
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import type { PublicProfile } from "@parley/proto/user/v1/user_pb.js";
import { displayName, handleBeside, useProfiles } from "../data/queries.js";
import { useClient, useMe } from "../data/use-parley.js";

/** `readOnly`: the room takes no reactions now (a direct room with a deactivated person); they only show. */
export function Reactions({ message, readOnly = false }: { message: Message; readOnly?: boolean }) {
  const client = useClient();
  const me = useMe();
  const people = useProfiles([...new Set(message.reactions.flatMap((r) => r.userIds))]);
  return (
    <ul className="reactions" aria-label="Reactions">
      {message.reactions.map((r) => {
        const mine = r.userIds.includes(me?.id ?? "");
        const who = r.userIds.map((id) => (id === me?.id ? "you" : nameWithHandle(people.get(id)))).join(", ");
        const toggle = () =>
          void (mine ? client.unreact : client.react)(message.roomId, message.id, r.emoji).catch(() => undefined);
        return (
          <li key={r.emoji}>
            <button
              type="button"
              className={`reaction${mine ? " mine" : ""}`}
              aria-pressed={mine}
              aria-label={`${r.emoji} ${r.userIds.length}, from ${who}`}
              title={`Reacted by ${who}`}
              disabled={readOnly}
              onClick={toggle}
            >
              <span aria-hidden="true">{r.emoji}</span> <span aria-hidden="true">{r.userIds.length}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function nameWithHandle(profile: PublicProfile | undefined): string {
  const name = displayName(profile);
  const handle = handleBeside(name, profile?.username);
  return handle ? `${name} (@${handle})` : name;
}
