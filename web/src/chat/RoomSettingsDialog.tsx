import type { RoomState } from "@parley/client";
import { type FormEvent, useState } from "react";
import { useUpdateRoom } from "../data/queries.js";
import { Dialog, DialogActions } from "../ui/Dialog.js";
import { ErrorText } from "../ui/ErrorText.js";
import { RoomNameFields } from "./RoomNameFields.js";

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
        <RoomNameFields name={name} topic={topic} onName={setName} onTopic={setTopic} />
        <ErrorText error={update.error} />
        <DialogActions submit="Save" busy={update.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
