import { RoomVisibility } from "@parley/proto/chat/v1/chat_pb.js";
import type { PublicProfile } from "@parley/proto/user/v1/user_pb.js";
import { type FormEvent, useState } from "react";
import { useLocation } from "wouter";
import { useCreateRoom } from "../data/queries.js";
import { Dialog } from "../ui/Dialog.js";
import { ErrorText } from "../ui/ErrorText.js";
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
        <label className="field">
          <span>Name</span>
          <input required maxLength={80} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Topic (optional)</span>
          <input maxLength={250} value={topic} onChange={(e) => setTopic(e.target.value)} />
        </label>
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
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create room
          </button>
        </div>
      </form>
    </Dialog>
  );
}
