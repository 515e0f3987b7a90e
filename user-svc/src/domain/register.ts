/**
 * Register: creates an unverified account, or refreshes a pending one, and
 * sends a verify_email code, in one transaction with its outbox event.
 *
 * Who may claim an email or a username:
 * - a VERIFIED account owns both for good. Its username is refused
 *   (USERNAME_TAKEN: usernames are public, shown in every room and in search);
 *   its email is not: the registration is answered as for a new email and the
 *   holder is mailed instead (register-existing.ts), so Register never tells
 *   whether an email has an account. The username is judged first, whatever
 *   the email, so that its answer cannot tell either;
 * - an UNVERIFIED account with the same email is rewritten in place (same id,
 *   new username and password, new code), so a retried or mistyped
 *   registration never dead-ends. Whoever can read the mailbox decides which
 *   registration becomes real; an attacker who cannot gains nothing, and every
 *   login needs an emailed code anyway;
 * - an UNVERIFIED account holding the username under ANOTHER email keeps it
 *   while its latest verify_email code could still be used (updated_at is
 *   bumped whenever one is sent, and the code expires OTP_EXPIRY after that),
 *   then it may be taken over: the abandoned account is deleted. So nobody can
 *   squat a name with an inbox they do not own for longer than OTP_EXPIRY.
 *   A registration answered as new for a verified email holds its username
 *   the same way (storage/username-holds.ts).
 */
import { OtpPurpose } from "@parley/proto/user/v1/user_pb.js";
import { usernameTaken } from "../errors.js";
import {
  deleteUnverifiedUser,
  insertUser,
  lockClaims,
  replacePendingUser,
  violatedUniqueConstraint,
} from "../storage/users.js";
import type { ClientInfo } from "./client-info.js";
import type { UserDomain } from "./context.js";
import { normalizeEmail, usernameKey } from "./identity.js";
import { enqueueOtpMail } from "./otp.js";
import { assertStrongPassword, hashPassword } from "./passwords.js";
import { answerAsNew, type Registered } from "./register-existing.js";
import { startResendCooldown } from "./resend-cooldown.js";

export type { Registered };

export interface RegisterInput {
  email: string;
  username: string;
  password: string;
  client: ClientInfo;
}

const ATTEMPTS = 3;

export async function register(domain: UserDomain, input: RegisterInput): Promise<Registered> {
  const email = normalizeEmail(input.email);
  const username = input.username.trim();
  const key = usernameKey(username);
  // Before the argon2 hash: a flood must not cost us CPU.
  await domain.rateLimits.consume("register", { ip: input.client.ip, account: email });
  assertStrongPassword(input.password, { email, username });
  // Hashed before the transaction (no row locks held for the ~50 ms it
  // takes), and for a verified email too, which then stores nothing: both
  // answers take the same time.
  const passwordHash = await hashPassword(input.password);

  for (let attempt = 1; ; attempt++) {
    try {
      const registered = await domain.db.transaction(async (tx) => {
        const claims = await lockClaims(tx, email, key, domain.otpTtlSeconds);
        const byEmail = claims.find((c) => c.email === email);
        const byName = claims.find((c) => c.usernameKey === key);
        // Only this email's own pending account may keep (or rename away from) the name.
        const ownPending = byName !== undefined && byName.id === byEmail?.id && !byEmail.verifiedAt;
        if (byName && !ownPending) {
          if (!byName.stale) throw usernameTaken();
          await deleteUnverifiedUser(tx, byName.id);
        }
        const heldFor = await domain.usernameHolds.holder(key);
        if (heldFor !== null && heldFor !== email) throw usernameTaken();
        if (byEmail?.verifiedAt) return answerAsNew(tx, domain, byEmail, key);
        const values = { username, usernameKey: key, passwordHash };
        const user = byEmail
          ? await replacePendingUser(tx, byEmail.id, values)
          : await insertUser(tx, { email, ...values });
        if (!user) throw new Error("pending account vanished under its row lock");
        // Stored before the event commits: an orphan code is harmless, a
        // mailed code that cannot verify is not.
        const otp = await domain.otp.issue(user.id, OtpPurpose.VERIFY_EMAIL);
        await enqueueOtpMail(tx, user, otp, OtpPurpose.VERIFY_EMAIL, domain.otpTtlSeconds);
        return { userId: user.id, otpExpiresIn: domain.otpTtlSeconds };
      });
      await startResendCooldown(domain.redis, {
        prefix: domain.redisKeyPrefix,
        email,
        seconds: domain.otpResendCooldownSeconds,
      });
      return registered;
    } catch (err) {
      const constraint = violatedUniqueConstraint(err);
      if (constraint === undefined) throw err;
      // A concurrent registration inserted the same email or name after our
      // locking read saw nothing; retrying sees its row and decides properly.
      if (attempt < ATTEMPTS) continue;
      // An email that keeps colliding is not told apart: it fails as anything unexpected does.
      if (constraint === "users_email_unique") throw err;
      throw usernameTaken();
    }
  }
}
