import { OtpPurpose as ProtoPurpose } from "@parley/proto/user/v1/user_pb.js";
import { type FormEvent, useEffect, useState } from "react";
import { Link, useSearch } from "wouter";
import { useResendOtp } from "../data/queries.js";
import { signedIn } from "../session/session.js";
import { type OtpPurpose, openWebSession } from "../session/web-session.js";
import { ErrorText } from "../ui/ErrorText.js";
import { withNext } from "./verify-link.js";

/** user-svc's OTP_RESEND_COOLDOWN default: a code was just sent, so the next may follow after this. */
const FIRST_COOLDOWN_S = 60;

function useCountdown(initial: number): [number, (seconds: number) => void] {
  const [until, setUntil] = useState(() => Date.now() + initial * 1000);
  const [now, setNow] = useState(Date.now);
  const left = Math.max(0, Math.ceil((until - now) / 1000));
  useEffect(() => {
    if (left <= 0) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [left]);
  return [left, (seconds) => setUntil(Date.now() + seconds * 1000)];
}

export function VerifyCodeForm() {
  const search = useSearch();
  const params = new URLSearchParams(search);
  const email = params.get("email") ?? "";
  const purpose: OtpPurpose = params.get("purpose") === "login" ? "login" : "verify";
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [left, restart] = useCountdown(FIRST_COOLDOWN_S);
  const resend = useResendOtp();

  const verify = async (otp: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await signedIn(await openWebSession(email, otp, purpose));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void verify(code);
  };

  const onCode = (value: string) => {
    const digits = value.replace(/\D/g, "").slice(0, 6);
    setCode(digits);
    if (digits.length === 6 && !busy) void verify(digits);
  };

  const again = () =>
    resend.mutate(
      { email, purpose: purpose === "login" ? ProtoPurpose.LOGIN : ProtoPurpose.VERIFY_EMAIL },
      { onSuccess: (answer) => restart(answer.retryAfter || FIRST_COOLDOWN_S) },
    );

  return (
    <form className="stack" onSubmit={submit}>
      <h1>Check your email</h1>
      <p>
        We sent a 6-digit code to <strong>{email}</strong>.
      </p>
      <label className="field">
        <span>Code</span>
        <input
          className="code-input"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          required
          // biome-ignore lint/a11y/noAutofocus: the code is the only thing to do on this screen
          autoFocus
          value={code}
          onChange={(e) => onCode(e.target.value)}
        />
      </label>
      <ErrorText error={error ?? resend.error} />
      <button type="submit" className="primary" disabled={busy || code.length !== 6}>
        {busy ? "Checking…" : "Verify"}
      </button>
      <button type="button" className="link-button" disabled={left > 0 || resend.isPending} onClick={again}>
        {left > 0 ? `Resend code in ${left} s` : "Resend code"}
      </button>
      <p aria-live="polite" className="hint">
        {resend.isSuccess && left > 0 ? "A new code is on its way." : ""}
      </p>
      <p>
        <Link href={withNext(purpose === "login" ? "/login" : "/signup", search)}>Use another email</Link>
      </p>
    </form>
  );
}
