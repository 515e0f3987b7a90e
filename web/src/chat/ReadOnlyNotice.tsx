/**
 * Stands where the composer would in a direct room whose other member an
 * operator deactivated: the server refuses anything new there until they are
 * reactivated, so the room says so instead of offering a box that cannot send.
 */
import { useDisplayName } from "../data/queries.js";
import { LockIcon } from "../ui/icons.js";

export function ReadOnlyNotice({ peerId }: { peerId: string }) {
  const name = useDisplayName(peerId, "This person");
  // A status: announced when it appears live (the deactivation arrives as an event), not only on load.
  return (
    <div className="read-only-notice" role="status">
      <span className="read-only-icon">
        <LockIcon />
      </span>
      <p>
        <strong>{name}</strong>’s account is deactivated. This conversation is read-only.
      </p>
    </div>
  );
}
