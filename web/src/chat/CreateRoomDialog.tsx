import { RoomVisibility } from "@parley/proto/chat/v1/chat_pb.js";
import type { PublicProfile } from "@parley/proto/user/v1/user_pb.js";
import { type FormEvent, useState } from "react";
import { useLocation } from "wouter";
import { useCreateRoom } from "../data/queries.js";
import { Dialog, DialogActions } from "../ui/Dialog.js";
import { ErrorText } from "../ui/ErrorText.js";
import { RoomNameFields } from "./RoomNameFields.js";
import { UserPicker } from "./UserPicker.js";

export default function CreateRoomDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [visibility, setVisibility] = useState(RoomVisibility.PRIVATE);
  const [invited, setInvited] = useState<PublicProfile[]>([]);
  const create = useCreateRoom();
  const [, navigate] = useLocation();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), topic: topic.trim(), visibility, memberIds: invited.map((u) => u.id) },
      {
        onSuccess: ({ room }) => {
          onClose();
          if (room) navigate(`/rooms/${room.id}`);
        },
      },
    );
  };

  return (
    <Dialog title="Create a room" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <RoomNameFields name={name} topic={topic} topicLabel="Topic (optional)" onName={setName} onTopic={setTopic} />
        <fieldset className="radio-group">
          <legend>Who can join</legend>
          <label>
            <input
              type="radio"
              name="visibility"
              checked={visibility === RoomVisibility.PRIVATE}
              onChange={() => setVisibility(RoomVisibility.PRIVATE)}
            />
            Private: only people invited
          </label>
          <label>
            <input
              type="radio"
              name="visibility"
              checked={visibility === RoomVisibility.PUBLIC}
              onChange={() => setVisibility(RoomVisibility.PUBLIC)}
            />
            Public: anyone can find and join it
          </label>
        </fieldset>
        <UserPicker
          label="Invite people"
          picked={invited}
          onPick={(u) => setInvited((list) => [...list, u])}
          onUnpick={(u) => setInvited((list) => list.filter((x) => x.id !== u.id))}
        />
        <ErrorText error={create.error} />
        <DialogActions submit="Create room" busy={create.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
