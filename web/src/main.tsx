import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App.js";
import { transport } from "./data/transport.js";
import { resumeSession } from "./session/session.js";
import "./styles.css";
// Every screen, signed in or out, uses the data hooks and ErrorText from its first paint: in the entry chunk
// rather than a shared chunk of their own, the first load makes one request fewer and gzips ~1 KB smaller.
import "./data/queries.js";
import "./ui/ErrorText.js";

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } },
});

void resumeSession();

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <TransportProvider transport={transport}>
        <QueryClientProvider client={queryClient}>
          <App />
        </QueryClientProvider>
      </TransportProvider>
    </StrictMode>,
  );
}

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch((err: unknown) => console.warn("service worker:", err));
  });
}
