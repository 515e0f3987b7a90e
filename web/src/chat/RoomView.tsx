/**
 * One room: its header, the timeline, who is typing, the composer (or, in a
 * direct room with a deactivated person, a notice that it is read-only), and
 * (optionally) the members.
 */
import { deactivatedPeer } from "@parley/client";
import type { Message } from "@parley/proto/chat/v1/chat_pb.js";
import { MemberRole } from "@parley/proto/chat/v1/chat_pb.js";
import { useEffect, useState } from "react";
import { useClient, useMe, useRoom } from "../data/use-parley.js";
import { Loading } from "../ui/Loading.js";
import { Composer } from "./Composer.js";
import { forgetRoom } from "./last-room.js";
import { MemberList } from "./MemberList.js";
import { ReadOnlyNotice } from "./ReadOnlyNotice.js";
import { RoomGone } from "./RoomGone.js";
import { RoomHeader } from "./RoomHeader.js";
import { RoomTimeline } from "./RoomTimeline.js";
import { TypingIndicator } from "./TypingIndicator.js";

export type Draft = { kind: "reply"; message: Message } | { kind: "edit"; message: Message } | undefined;

const WIDE_MEMBERS = "(min-width: 1200px)";

export function RoomView({ roomId }: { roomId: string }) {
  const client = useClient();
  const room = useRoom(roomId);
  const me = useMe();
  const [draft, setDraft] = useState<Draft>();
  const [showMembers, setShowMembers] = useState(() => matchMedia(WIDE_MEMBERS).matches);
  const [loadError, setLoadError] = useState<unknown>();

  useEffect(() => {
    client.loadTimeline(roomId).catch(setLoadError);
  }, [client, roomId]);

  // The member list sits beside the conversation on wide screens and over it on narrow ones: follow the width.
  useEffect(() => {
    const wide = matchMedia(WIDE_MEMBERS);
    const follow = () => setShowMembers(wide.matches);
    wide.addEventListener("change", follow);
    return () => wide.removeEventListener("change", follow);
  }, []);

  if (room?.status === "left" || loadError) {
    forgetRoom(roomId);
    return <RoomGone room={room} />;
  }
  if (!room?.room) return <Loading label="Loading the room" />;

  const role = room.room.members.find((m) => m.userId === me?.id)?.role ?? MemberRole.MEMBER;
  const moderator = role === MemberRole.OWNER || role === MemberRole.ADMIN;
  const readOnlyBecause = me ? deactivatedPeer(room, me.id) : undefined;

  return (
    <div className={`room-view${showMembers ? " with-members" : ""}`}>
      <RoomHeader
        room={room}
        moderator={moderator}
        membersShown={showMembers}
        onToggleMembers={() => setShowMembers((v) => !v)}
      />
      <div className="room-body">
        <div className="room-conversation">
          <RoomTimeline room={room} moderator={moderator} readOnly={!!readOnlyBecause} onDraft={setDraft} />
          <TypingIndicator room={room} />
          {readOnlyBecause ? (
            <ReadOnlyNotice peerId={readOnlyBecause.userId} />
          ) : (
            <Composer room={room} draft={draft} onDraft={setDraft} />
          )}
        </div>
        {showMembers && <MemberList room={room} myRole={role} onClose={() => setShowMembers(false)} />}
      </div>
    </div>
  );
}
