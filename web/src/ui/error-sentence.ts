/**
 * A server error as a sentence for people. Messages come from the API as
 * "field: what is wrong" (one per field, joined by "; ") or as a bare
 * lower-case clause, which suits logs and API clients but not a form:
 * "otp: the code is incorrect" reads as "The code is incorrect.", and
 * "display_name: must not …" as "Display name must not ….".
 */

// What each form calls the fields the API names.
const LABELS: Record<string, string> = {
  avatar_url: "Avatar URL",
  bio: "Bio",
  display_name: "Display name",
  email: "Email",
  member_ids: "People",
  name: "Name",
  notification_level: "Email notifications",
  otp: "Code",
  password: "Password",
  status_text: "Status",
  text: "Message",
  topic: "Topic",
  username: "Username",
};

const FIELD = /^([a-z][a-z0-9_]*(?:\[\d+\])?(?:\.[a-z0-9_]+(?:\[\d+\])?)*): ([\s\S]*)$/;
// A clause without its subject ("must be …", "value length must be …"), which needs the field's name before it.
const PREDICATE = /^(must|should|is|are|does|do|cannot|can|has|length|contains|value)\b/;

/** One field's problem, or the whole message, as a sentence. */
function sentence(part: string): string {
  const match = FIELD.exec(part);
  let text = part.trim();
  if (match) {
    const field = match[1] as string;
    text = (match[2] as string).trim().replace(/^value (?=\w)/, "");
    if (PREDICATE.test(text)) text = `${labelOf(field)} ${text}`;
  }
  if (text === "") return "";
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

function labelOf(field: string): string {
  const base =
    field
      .replace(/\[\d+\]/g, "")
      .split(".")
      .pop() ?? field;
  const label = LABELS[base] ?? base.replace(/_/g, " ");
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** One sentence per problem in `raw`, with the field it is about (undefined for the call as a whole). */
export function problemsOf(raw: string): { field: string | undefined; sentence: string }[] {
  return raw
    .split("; ")
    .reduce<string[]>((parts, piece) => {
      // "; " also separates clauses within one message ("too many requests; try again in 5 minutes"):
      // a piece that names no field belongs to the part before it.
      const last = parts.length - 1;
      if (last >= 0 && !FIELD.test(piece)) parts[last] = `${parts[last]}; ${piece}`;
      else parts.push(piece);
      return parts;
    }, [])
    .map((part) => ({ field: FIELD.exec(part)?.[1]?.replace(/\[\d+\]/g, ""), sentence: sentence(part) }))
    .filter((p) => p.sentence !== "");
}

/** `raw` (an error's message as the API sent it) as one or more sentences. */
export function sentenceOf(raw: string): string {
  return problemsOf(raw)
    .map((p) => p.sentence)
    .join(" ");
}
