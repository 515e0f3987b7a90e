import { useLocation } from "wouter";
import { useOpenDirectRoom } from "../data/queries.js";
import { Dialog } from "../ui/Dialog.js";
import { ErrorText } from "../ui/ErrorText.js";
import { UserPicker } from "./UserPicker.js";

export default function NewDirectMessageDialog({ onClose }: { onClose: () => void }) {
  const open = useOpenDirectRoom();
  const [, navigate] = useLocation();
  return (
    <Dialog title="New direct message" onClose={onClose}>
      <UserPicker
        label="Who do you want to talk to?"
        onPick={(u) =>
          open.mutate(
            { userId: u.id },
            {
              onSuccess: ({ room }) => {
                onClose();
                if (room) navigate(`/rooms/${room.id}`);
              },
            },
          )
        }
      />
      <ErrorText error={open.error} />
    </Dialog>
  );
}
