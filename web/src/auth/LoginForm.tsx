import { type FormEvent, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { useLogin } from "../data/queries.js";
import { ErrorText } from "../ui/ErrorText.js";
import { verifyLink, withNext } from "./verify-link.js";

export function LoginForm() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useLogin();
  const [, navigate] = useLocation();
  const search = useSearch();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate(
      { identifier: { case: "email", value: email.trim() }, password },
      { onSuccess: () => navigate(verifyLink(email.trim(), "login", search)) },
    );
  };

  return (
    <form className="stack" onSubmit={submit}>
      <h1>Log in</h1>
      <label className="field">
        <span>Email</span>
        <input type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label className="field">
        <span>Password</span>
        <input
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <ErrorText error={login.error} />
      <button type="submit" className="primary" disabled={login.isPending}>
        {login.isPending ? "Sending a code…" : "Continue"}
      </button>
      <p className="hint">We email you a 6-digit code to finish logging in.</p>
      <p>
        New to Parley? <Link href={withNext("/signup", search)}>Create an account</Link>
      </p>
    </form>
  );
}
