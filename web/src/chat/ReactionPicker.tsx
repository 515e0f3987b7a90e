/** A small grid of common emoji; arrow-free, every one a button, Escape closes. */
import { useEffect, useRef } from "react";
import "./reaction-picker.css";

const EMOJI = ["👍", "👎", "😄", "🎉", "❤️", "🚀", "👀", "😮", "😢", "🙏", "🔥", "✅", "😂", "🤔", "👏", "💯"];

export default function ReactionPicker({ onPick, onClose }: { onPick: (emoji: string) => void; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector("button")?.focus();
    const away = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener("mousedown", away);
    return () => document.removeEventListener("mousedown", away);
  }, [onClose]);
  return (
    <div
      ref={ref}
      className="reaction-picker"
      role="dialog"
      aria-label="Pick a reaction"
      onKeyDown={(e) => {
        if (e.key === "Escape") onClose();
      }}
    >
      {EMOJI.map((emoji) => (
        <button key={emoji} type="button" aria-label={`React with ${emoji}`} onClick={() => onPick(emoji)}>
          {emoji}
        </button>
      ))}
    </div>
  );
}
