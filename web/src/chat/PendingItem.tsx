/** A message the server does not have yet: sending, waiting for the connection, or refused. */
import type { PendingSend } from "@parley/client";
import { useClient, useMe, useParley } from "../data/use-parley.js";
import { useOnline } from "../ui/use-online.js";
import { MessageText } from "./MessageText.js";

export function PendingItem({ pending }: { pending: PendingSend }) {
  const client = useClient();
  const me = useMe();
  const online = useOnline();
  const open = useParley((s) => s.connection.status === "open");
  const connected = open && online;
  const failed = pending.status === "failed";
  return (
    <article className={`message grouped pending${failed ? " failed" : ""}`} aria-label="Your message, not sent yet">
      <div className="message-gutter" />
      <div className="message-main">
        <p className="message-text">
          <MessageText text={pending.text} me={me?.username.toLowerCase()} />
        </p>
        <p className="pending-status">
          {failed ? (
            <>
              Not sent: {pending.failure?.message ?? "refused"}.{" "}
              <button
                type="button"
                className="link-button"
                onClick={() => void client.retrySend(pending.clientMessageId)}
              >
                Retry
              </button>{" "}
              <button
                type="button"
                className="link-button"
                onClick={() => void client.discardSend(pending.clientMessageId)}
              >
                Discard
              </button>
            </>
          ) : connected ? (
            "Sending…"
          ) : (
            "Pending: will be sent when you're back online"
          )}
        </p>
      </div>
    </article>
  );
}
