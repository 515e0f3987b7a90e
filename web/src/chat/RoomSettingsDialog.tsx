import type { RoomState } from "@parley/client";
import { type FormEvent, useState } from "react";
import { useUpdateRoom } from "../data/queries.js";
import { Dialog } from "../ui/Dialog.js";
import { ErrorText } from "../ui/ErrorText.js";

export default function RoomSettingsDialog({ room, onClose }: { room: RoomState; onClose: () => void }) {
  const [name, setName] = useState(room.room?.name ?? "");
  const [topic, setTopic] = useState(room.room?.topic ?? "");
  const update = useUpdateRoom();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ roomId: room.roomId, name: name.trim(), topic: topic.trim() }, { onSuccess: onClose });
  };
  return (
    <Dialog title="Room settings" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span>Name</span>
          <input required maxLength={80} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Topic</span>
          <input maxLength={250} value={topic} onChange={(e) => setTopic(e.target.value)} />
        </label>
        <ErrorText error={update.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={update.isPending}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
