/**
 * Routes: the account screens when signed out, the chat when signed in.
 * Each side is its own chunk, loaded when needed.
 */
import { lazy, Suspense } from "react";
import { Redirect, useLocation, useSearch } from "wouter";
import { ClientContext, useSession } from "../data/use-parley.js";
import { Loading } from "../ui/Loading.js";

const AccountScreens = lazy(() => import("../auth/AccountScreens.js"));
const ChatApp = lazy(() => import("../chat/ChatApp.js"));

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
      <Suspense fallback={<Loading label="Loading" />}>
        <AccountScreens notice={session.reason} />
      </Suspense>
    );
  }

  if (onAccountPage) {
    const next = new URLSearchParams(search).get("next");
    return <Redirect to={next?.startsWith("/") && !next.startsWith("//") ? next : "/"} replace />;
  }
  return (
    <ClientContext.Provider value={session.client}>
      <Suspense fallback={<Loading label="Loading your rooms" />}>
        <ChatApp key={session.userId} />
      </Suspense>
    </ClientContext.Provider>
  );
}
