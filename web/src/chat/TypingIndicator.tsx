import type { RoomState } from "@parley/client";

function sentence(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

export function TypingIndicator({ room }: { room: RoomState }) {
  return (
    <div className="typing-indicator" aria-live="polite">
      {sentence(room.typing.map((t) => t.username))}
    </div>
  );
}
