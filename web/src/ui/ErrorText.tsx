import { messageOf } from "../session/session.js";

/** An error from an action, announced to screen readers. */
export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error-text" role="alert">
      {messageOf(error)}
    </p>
  );
}
