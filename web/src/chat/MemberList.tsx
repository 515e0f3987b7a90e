/** The room's members with their roles; owners and admins invite, kick, promote and demote here. */
import type { RoomState } from "@parley/client";
import { type Member, MemberRole } from "@parley/proto/chat/v1/chat_pb.js";
import { lazy, Suspense, useState } from "react";
import {
  displayName,
  handleBeside,
  useAddMembers,
  useProfiles,
  useRemoveMember,
  useSetMemberRole,
} from "../data/queries.js";
import { useMe, useParley } from "../data/use-parley.js";
import { Avatar } from "../ui/Avatar.js";
import { ErrorText } from "../ui/ErrorText.js";
import { CloseIcon } from "../ui/icons.js";
import { Loading } from "../ui/Loading.js";
import { isDirect } from "./room-names.js";

// Only owners and admins who start inviting need it: not part of the room page's first download.
const UserPicker = lazy(() => import("./UserPicker.js").then((m) => ({ default: m.UserPicker })));

const ROLE_NAME: Record<number, string> = {
  [MemberRole.OWNER]: "Owner",
  [MemberRole.ADMIN]: "Admin",
  [MemberRole.MEMBER]: "Member",
};
const RANK: Record<number, number> = { [MemberRole.OWNER]: 0, [MemberRole.ADMIN]: 1, [MemberRole.MEMBER]: 2 };

export function MemberList({ room, myRole, onClose }: { room: RoomState; myRole: MemberRole; onClose: () => void }) {
  const me = useMe();
  const members = room.room?.members ?? [];
  const profiles = useProfiles(members.map((m) => m.userId));
  const presence = useParley((s) => s.presence);
  const [inviting, setInviting] = useState(false);
  const add = useAddMembers();
  const remove = useRemoveMember();
  const setRole = useSetMemberRole();
  const moderator = myRole === MemberRole.OWNER || myRole === MemberRole.ADMIN;
  const canInvite = !isDirect(room) && (moderator || room.room?.visibility === 1);
  const sorted = [...members].sort(
    (a, b) =>
      (RANK[a.role] ?? 3) - (RANK[b.role] ?? 3) ||
      displayName(profiles.get(a.userId)).localeCompare(displayName(profiles.get(b.userId))),
  );

  const canKick = (m: Member) =>
    m.userId !== me?.id &&
    m.role !== MemberRole.OWNER &&
    (myRole === MemberRole.OWNER || (myRole === MemberRole.ADMIN && m.role === MemberRole.MEMBER));

  return (
    <aside className="member-list" aria-label="Members">
      <header className="member-list-header">
        <h2>Members ({members.length})</h2>
        <button type="button" className="icon-button" aria-label="Hide members" onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      {canInvite && !inviting && (
        <button type="button" className="invite-button" onClick={() => setInviting(true)}>
          + Invite people
        </button>
      )}
      {inviting && (
        <div className="invite-box">
          <Suspense fallback={<Loading label="Loading" />}>
            <UserPicker
              label="Invite"
              exclude={members.map((m) => m.userId)}
              onPick={(u) => add.mutate({ roomId: room.roomId, userIds: [u.id] })}
            />
          </Suspense>
          <button type="button" onClick={() => setInviting(false)}>
            Done
          </button>
        </div>
      )}
      <ErrorText error={add.error ?? remove.error ?? setRole.error} />
      <ul className="members">
        {sorted.map((m) => {
          const profile = profiles.get(m.userId);
          const name = displayName(profile);
          const handle = handleBeside(name, profile?.username);
          const online = m.userId === me?.id ? true : presence.get(m.userId);
          return (
            <li key={m.userId} className="member">
              <Avatar name={name} seed={m.userId} url={profile?.avatarUrl} online={online} />
              <span className="member-text">
                <span className="member-name">
                  {name}
                  {m.userId === me?.id && " (you)"}
                  {online !== undefined && <span className="visually-hidden">{online ? ", online" : ", offline"}</span>}
                </span>
                {/* On the role line, where a long name's ellipsis cannot hide it. */}
                <span className="member-role">
                  {handle && <span className="member-handle">@{handle} · </span>}
                  {ROLE_NAME[m.role] ?? "Member"}
                  {/* The room's state, not the cached profile: member_changed events keep it live. */}
                  {m.deactivated && " · deactivated"}
                </span>
              </span>
              {(myRole === MemberRole.OWNER && m.role !== MemberRole.OWNER) || canKick(m) ? (
                <span className="member-actions">
                  {myRole === MemberRole.OWNER && m.role !== MemberRole.OWNER && (
                    <RoleButton
                      name={name}
                      admin={m.role === MemberRole.ADMIN}
                      onSet={(role) => setRole.mutate({ roomId: room.roomId, userId: m.userId, role })}
                    />
                  )}
                  {canKick(m) && (
                    <button
                      type="button"
                      className="small danger"
                      aria-label={`Remove ${name} from the room`}
                      onClick={() => {
                        if (confirm(`Remove ${name} from the room?`))
                          remove.mutate({ roomId: room.roomId, userId: m.userId });
                      }}
                    >
                      Remove
                    </button>
                  )}
                </span>
              ) : null}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}

/** The owner's one action on a member's role: promote a member to admin, or demote an admin. */
function RoleButton({ name, admin, onSet }: { name: string; admin: boolean; onSet: (role: MemberRole) => void }) {
  return (
    <button
      type="button"
      className="small"
      aria-label={admin ? `Demote ${name} to member` : `Promote ${name} to admin`}
      onClick={() => onSet(admin ? MemberRole.MEMBER : MemberRole.ADMIN)}
    >
      {admin ? "Demote" : "Promote"}
    </button>
  );
}
