/** The Connect transport behind the app's queries: same origin, with the session's token (and its refresh). */
import { createConnectTransport } from "@connectrpc/connect-web";
import { authInterceptor } from "@parley/client/rpc.js";
import { auth } from "../session/session.js";

export const transport = createConnectTransport({
  baseUrl: location.origin,
  interceptors: [authInterceptor(auth)],
});
