/**
 * Canonical forms used for lookups and uniqueness, so that visually equal
 * identifiers ("Alice@Example.com", full-width letters…) name one account.
 * Proto already limits usernames to ASCII letters, digits and "_"; the key is
 * robust on its own anyway, should that rule ever be loosened: compatibility
 * forms fold (NFKC: "ａｌｉｃｅ" → "alice"), invisible characters (zero-width
 * spaces, joiners, soft hyphens) are dropped, and case is folded without
 * locale rules (no Turkish dotless-i surprises).
 */

export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFKC").toLowerCase();
}

export function usernameKey(username: string): string {
  return username
    .normalize("NFKC")
    .replace(/\p{Default_Ignorable_Code_Point}/gu, "")
    .trim()
    .toLowerCase();
}
