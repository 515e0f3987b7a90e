/**
 * The edge's web session routes (README "Web app"): the refresh token lives in
 * an httpOnly cookie page script never sees, so signing in, refreshing and
 * signing out go through these three calls. Each carries `x-parley-csrf: 1`
 * (a header a cross-site form cannot send) and the cookie.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { refreshAcrossTabs, type TokenGrant } from "@parley/client";

export interface WebGrant extends TokenGrant {
  /** The signed-in user's id (names the outbox's IndexedDB database). */
  userId: string;
}

interface ErrorBody {
  error?: { code?: string; message?: string; reason?: string };
}

const CODES: Record<string, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  unavailable: Code.Unavailable,
};

/** A refusal from these routes, keeping the REST error's reason (e.g. ACCOUNT_DEACTIVATED) for what the app says. */
export class WebSessionError extends ConnectError {
  constructor(
    message: string,
    code: Code,
    readonly reason: string,
  ) {
    super(message, code);
  }
}

/** The reason the edge gave for refusing, if `err` is such a refusal. */
export function refusalReason(err: unknown): string | undefined {
  return err instanceof WebSessionError && err.reason !== "" ? err.reason : undefined;
}

async function post(path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: "POST",
      credentials: "include",
      headers: { "x-parley-csrf": "1", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ConnectError("Parley cannot be reached", Code.Unavailable);
  }
  if (response.ok) return response.status === 204 ? {} : response.json();
  const answer = (await response.json().catch(() => ({}))) as ErrorBody;
  const code =
    CODES[answer.error?.code ?? ""] ??
    (response.status === 401 ? Code.Unauthenticated : response.status >= 500 ? Code.Unavailable : Code.Unknown);
  throw new WebSessionError(answer.error?.message ?? response.statusText, code, answer.error?.reason ?? "");
}

function grantFrom(answer: unknown): WebGrant {
  const a = answer as { accessToken?: string; expiresIn?: number; user?: { id?: string } };
  if (!a.accessToken || !a.user?.id) throw new ConnectError("unexpected answer from the edge", Code.Internal);
  return { accessToken: a.accessToken, expiresIn: a.expiresIn ?? 900, userId: a.user.id };
}

export type OtpPurpose = "verify" | "login";

/** Verifies the emailed code and starts a web session (sets the refresh cookie). */
export async function openWebSession(email: string, otp: string, purpose: OtpPurpose): Promise<WebGrant> {
  return grantFrom(
    await post("/api/web/session", {
      email,
      otp,
      purpose: purpose === "login" ? "OTP_PURPOSE_LOGIN" : "OTP_PURPOSE_VERIFY_EMAIL",
    }),
  );
}

/**
 * The refresh through the cookie: what the SDK's Auth calls before the access
 * token runs out, and a page load to resume. Tabs take turns (the cookie
 * rotates on use, and a rotated one sent again ends the session).
 */
export const refreshWebSession = refreshAcrossTabs(
  async (): Promise<WebGrant> => grantFrom(await post("/api/web/refresh")),
  { name: "parley-refresh-cookie" },
);

/** Ends this browser's session and clears the cookie. */
export async function closeWebSession(): Promise<void> {
  await post("/api/web/logout");
}
