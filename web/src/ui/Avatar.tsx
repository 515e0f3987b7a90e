/** A user's picture (an https URL they set) or their initial on a colour of their own. */
import { useState } from "react";
import { safeImageUrl } from "./safe-url.js";

const HUES = [210, 260, 330, 20, 150, 190, 290, 45];

function hueOf(seed: string): number {
  let h = 0;
  for (const ch of seed) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return HUES[h % HUES.length] as number;
}

export function Avatar({
  name,
  seed,
  url,
  size = 32,
  online,
}: {
  name: string;
  seed: string;
  url?: string | undefined;
  size?: number;
  online?: boolean | undefined;
}) {
  const src = url ? safeImageUrl(url) : undefined;
  // The URL that failed to load (a 404, not an image): the initial stands in until the URL changes.
  const [broken, setBroken] = useState<string>();
  const initial = (name.trim()[0] ?? "?").toUpperCase();
  return (
    <span className={`avatar size-${size} hue-${hueOf(seed)}`} aria-hidden="true">
      {src && src !== broken ? (
        <img src={src} alt="" loading="lazy" referrerPolicy="no-referrer" onError={() => setBroken(src)} />
      ) : (
        initial
      )}
      {online !== undefined && <span className={`presence-dot ${online ? "online" : "offline"}`} />}
    </span>
  );
}
