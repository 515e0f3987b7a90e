import { messageOf } from "../session/session.js";
import { sentenceOf } from "./error-sentence.js";

/** An error from an action, announced to screen readers, worded for people (see error-sentence.ts). */
export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error-text" role="alert">
      {sentenceOf(messageOf(error))}
    </p>
  );
}
