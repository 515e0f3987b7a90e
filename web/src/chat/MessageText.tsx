import { memo } from "react";
import { segments } from "./linkify.js";

/** A message's text: links open in a new tab without the opener; mentions of me stand out. */
export const MessageText = memo(function MessageText({ text, me }: { text: string; me: string | undefined }) {
  return (
    <>
      {segments(text).map((s, i) => {
        const key = `${i}:${s.kind}`;
        if (s.kind === "link")
          return (
            <a key={key} href={s.href} target="_blank" rel="noopener noreferrer nofollow">
              {s.text}
            </a>
          );
        if (s.kind === "mention")
          return (
            <span key={key} className={`mention${s.username === me ? " mention-me" : ""}`}>
              {s.text}
            </span>
          );
        return <span key={key}>{s.text}</span>;
      })}
    </>
  );
});
