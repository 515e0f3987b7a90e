/** What to call people: display names, and the @username that tells two alike apart. */
import type { PublicProfile } from "@parley/proto/user/v1/user_pb.js";

// Something that shows: not space, a mark, a control or format character, or a blank filler.
const VISIBLE = /[^\s\p{Z}\p{M}\p{Cc}\p{Cf}\u115F\u1160\u3164\uFFA0\u2800]/u;

/**
 * What to call a user: display name, else username, else the fallback (e.g.
 * the username a message carries). A name stored before user-svc refused
 * blank and invisible ones ("   ", a zero-width space) counts as none, so
 * that it never shows as nothing.
 */
export function displayName(profile: PublicProfile | undefined, fallback = "someone"): string {
  const name = profile?.displayName.trim() ?? "";
  return (VISIBLE.test(name) ? name : "") || profile?.username || fallback;
}

/**
 * The @username to show beside `name`, or undefined when the name already is
 * it. Display names are free, so one can copy another person's username or
 * display name; the username, unique and ASCII-only, tells them apart.
 */
export function handleBeside(name: string, username: string | undefined): string | undefined {
  return username && name !== username ? username : undefined;
}
