/**
 * Canonical forms used for lookups and uniqueness, so that visually equal
 * identifiers ("Alice@Example.com", full-width digits…) name one account.
 */

export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFKC").toLowerCase();
}

export function usernameKey(username: string): string {
  return username.trim().normalize("NFKC").toLowerCase();
}
