/**
 * Password hashing (argon2id) and the domain's strength rules beyond the
 * length limits declared in proto.
 */
import { randomBytes } from "node:crypto";
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { weakPassword } from "../errors.js";
import { COMMON_PASSWORDS } from "./common-passwords.js";

// argon2id with OWASP's baseline (19 MiB, 2 passes, 1 lane), pinned here so
// that a change of library defaults never silently weakens new hashes.
const ARGON2ID: Algorithm = 2;
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

// A hash of a random password with the same parameters: checking a password
// for an account that does not exist costs as much as for one that does.
let dummyHash: Promise<string> | undefined;

/** Computes the dummy hash ahead of the first login, so that login is not the slow one. */
export async function preparePasswordChecks(): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(32).toString("base64"));
  await dummyHash;
}

/** Checks `password` against `passwordHash`, or against a dummy hash when there is no account. */
export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  dummyHash ??= hashPassword(randomBytes(32).toString("base64"));
  const target = passwordHash ?? (await dummyHash);
  let ok: boolean;
  try {
    ok = await verify(target, password);
  } catch {
    // A malformed stored hash must fail closed, not crash the call.
    ok = false;
  }
  return ok && passwordHash !== undefined;
}

// Shorter names are common substrings of anything ("bob" in "bobsled" is
// no hint): only a name of at least this many characters is looked for.
const MIN_NAME_IN_PASSWORD = 3;

/**
 * Throws WEAK_PASSWORD for passwords an attacker would try first: a common
 * password, one that contains the username or the email's local part (what an
 * attacker who targets the account knows first, so "ada1234567" or
 * "adaada!!!!" fall to the first guesses), or one short pattern repeated.
 */
export function assertStrongPassword(password: string, identity: { email: string; username: string }): void {
  const folded = fold(password);
  if (COMMON_PASSWORDS.has(folded)) throw weakPassword("common");
  const email = fold(identity.email);
  const names = [fold(identity.username), email.slice(0, email.lastIndexOf("@"))];
  if (names.some((name) => [...name].length >= MIN_NAME_IN_PASSWORD && folded.includes(name))) {
    throw weakPassword("matches_identity");
  }
  if (isRepetition([...folded])) throw weakPassword("repetitive");
}

function fold(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

/** One unit, at most half the whole, repeated to the end ("aaaaaaaaaa", "ababababab", "abcabcabca"). */
function isRepetition(chars: string[]): boolean {
  for (let unit = 1; unit <= chars.length / 2; unit++) {
    if (chars.every((c, i) => c === chars[i % unit])) return true;
  }
  return false;
}
