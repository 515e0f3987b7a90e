/** Sign up, log in, and the emailed code that finishes either. */
import { Route, Switch } from "wouter";
import { LoginForm } from "./LoginForm.js";
import { SignupForm } from "./SignupForm.js";
import { VerifyCodeForm } from "./VerifyCodeForm.js";
import "./account.css";

export default function AccountScreens({ notice }: { notice?: string | undefined }) {
  return (
    <main className="account-page">
      <div className="account-card">
        <div className="brand">
          <img src="/icon.svg" alt="" width="40" height="40" />
          <span>Parley</span>
        </div>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <Switch>
          <Route path="/signup" component={SignupForm} />
          <Route path="/verify" component={VerifyCodeForm} />
          <Route component={LoginForm} />
        </Switch>
      </div>
    </main>
  );
}
