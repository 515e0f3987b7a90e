/**
 * Routes: the account screens when signed out, the chat when signed in.
 * Each side is its own chunk, loaded when needed.
 */
import { Suspense } from "react";
import { Redirect, useLocation, useSearch } from "wouter";
import { ClientContext, useSession } from "../data/use-parley.js";
import { Loading } from "../ui/Loading.js";
import { LoadBoundary, lazyScreen } from "./lazy-screen.js";

const AccountScreens = lazyScreen(() => import("../auth/AccountScreens.js"));
const ChatApp = lazyScreen(() => import("../chat/ChatApp.js"));

const ACCOUNT_PATHS = ["/login", "/signup", "/verify"];

export function App() {
  const session = useSession();
  const [path] = useLocation();
  const search = useSearch();
  const onAccountPage = ACCOUNT_PATHS.includes(path);

  if (session.status === "starting") return <Loading label="Opening Parley" />;

  if (session.status === "signed-out") {
    if (!onAccountPage) {
      // Mail links (/rooms/<id>) come back here after signing in.
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path)}`;
      return <Redirect to={`/login${next}`} replace />;
    }
    return (
      <LoadBoundary screen={AccountScreens}>
        {() => (
          <Suspense fallback={<Loading label="Loading" />}>
            <AccountScreens.Component notice={session.reason} />
          </Suspense>
        )}
      </LoadBoundary>
    );
  }

  if (onAccountPage) {
    const next = new URLSearchParams(search).get("next");
    return <Redirect to={next?.startsWith("/") && !next.startsWith("//") ? next : "/"} replace />;
  }
  return (
    <ClientContext.Provider value={session.client}>
      <LoadBoundary screen={ChatApp}>
        {() => (
          <Suspense fallback={<Loading label="Loading your rooms" />}>
            <ChatApp.Component key={session.userId} />
          </Suspense>
        )}
      </LoadBoundary>
    </ClientContext.Provider>
  );
}
