import { type FormEvent, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { useRegister } from "../data/queries.js";
import { ErrorText, FieldError, fieldError } from "../ui/ErrorText.js";
import { verifyLink, withNext } from "./verify-link.js";

export function SignupForm() {
  const [email, setEmail] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const register = useRegister();
  const [, navigate] = useLocation();
  const search = useSearch();
  const wrong = {
    email: fieldError(register.error, "email"),
    username: fieldError(register.error, "username"),
    password: fieldError(register.error, "password"),
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    register.mutate(
      { email: email.trim(), username: username.trim(), password },
      { onSuccess: () => navigate(verifyLink(email.trim(), "verify", search)) },
    );
  };

  return (
    <form className="stack" onSubmit={submit}>
      <h1>Create your account</h1>
      <label className="field">
        <span>Email</span>
        <input
          type="email"
          autoComplete="email"
          required
          aria-invalid={wrong.email ? true : undefined}
          aria-describedby={wrong.email ? "email-error" : undefined}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <FieldError id="email-error" text={wrong.email} />
      </label>
      <label className="field">
        <span>Username</span>
        <input
          autoComplete="username"
          required
          minLength={3}
          maxLength={32}
          pattern="[A-Za-z0-9_]{3,32}"
          aria-invalid={wrong.username ? true : undefined}
          aria-describedby={wrong.username ? "username-error username-hint" : "username-hint"}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <FieldError id="username-error" text={wrong.username} />
        <small id="username-hint">3–32 letters, digits or _ ; others mention you as @{username || "username"}</small>
      </label>
      <label className="field">
        <span>Password</span>
        <input
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          maxLength={128}
          aria-invalid={wrong.password ? true : undefined}
          aria-describedby={wrong.password ? "password-error password-hint" : "password-hint"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <FieldError id="password-error" text={wrong.password} />
        <small id="password-hint">At least 10 characters</small>
      </label>
      <ErrorText error={register.error} except={["email", "username", "password"]} />
      <button type="submit" className="primary" disabled={register.isPending}>
        {register.isPending ? "Creating…" : "Sign up"}
      </button>
      <p>
        Already have an account? <Link href={withNext("/login", search)}>Log in</Link>
      </p>
    </form>
  );
}
