import { messageOf } from "../session/session.js";
import { problemsOf } from "./error-sentence.js";

function problems(error: unknown) {
  return error ? problemsOf(messageOf(error)) : [];
}

/**
 * An error from an action, announced to screen readers, worded for people (see
 * error-sentence.ts). `except`: fields the form shows beside their inputs
 * (FieldError), left out here.
 */
export function ErrorText({ error, except = [] }: { error: unknown; except?: readonly string[] }) {
  const text = problems(error)
    .filter((p) => p.field === undefined || !except.includes(p.field))
    .map((p) => p.sentence)
    .join(" ");
  if (!text) return null;
  return (
    <p className="error-text" role="alert">
      {text}
    </p>
  );
}

/** What is wrong with one field, if anything; shown under its input, which names it with aria-describedby. */
export function fieldError(error: unknown, field: string): string | undefined {
  const text = problems(error)
    .filter((p) => p.field === field)
    .map((p) => p.sentence)
    .join(" ");
  return text || undefined;
}

export function FieldError({ id, text }: { id: string; text: string | undefined }) {
  if (!text) return null;
  return (
    <small id={id} className="error-text field-error" role="alert">
      {text}
    </small>
  );
}
