/**
 * The room's messages as an ARIA log, virtualised: only the rows on screen
 * (and a few around) are in the DOM, so a 10,000-message room scrolls like a
 * short one. A room with unread messages opens at the first of them (the
 * "New messages" divider near the top), otherwise at the newest. Older pages
 * load while scrolling up, keeping what is on screen in place, and newer
 * ones while scrolling down when the room opened further back; new messages
 * keep the view at the bottom when it was there. The read marker follows
 * what has been on screen while the tab is visible.
 */
import { hasNewer, type RoomState } from "@parley/client";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useClient, useMe } from "../data/use-parley.js";
import { MessageItem } from "./MessageItem.js";
import { PendingItem } from "./PendingItem.js";
import type { Draft } from "./RoomView.js";
import { type Row, timelineRows } from "./timeline-rows.js";
import { useRowWindow } from "./use-row-window.js";

const NEAR_TOP_PX = 600;
const AT_BOTTOM_PX = 80;
const READ_DELAY_MS = 400;
const MAX_PAGES_TO_FIND = 40;
/** Of what was read before the "New messages" divider, this much stays in view above it. */
const DIVIDER_CONTEXT_PX = 40;

const estimate = (row: Row) =>
  row.kind === "message" ? (row.grouped ? 30 : 62) + (row.message.reactions.length > 0 ? 34 : 0) : 36;

export function RoomTimeline({
  room,
  moderator,
  readOnly,
  onDraft,
}: {
  room: RoomState;
  moderator: boolean;
  /** Nothing new can be written (a direct room with a deactivated person): no reply, edit or reaction. */
  readOnly: boolean;
  onDraft: (draft: Draft) => void;
}) {
  const client = useClient();
  const me = useMe();
  const scrollRef = useRef<HTMLDivElement>(null);
  const loaded = room.timeline === "loaded";

  // The divider stays where the read marker was when the room was opened, however far reading moves it.
  // Fixed in the first render with messages, so the first scroll already finds it. Nothing unread: -1, none.
  const opened = useRef<bigint>(undefined);
  if (loaded && opened.current === undefined) opened.current = room.unreadCount > 0n ? room.lastReadSeq : -1n;
  const newAfter = opened.current;
  const newer = hasNewer(room);

  const rows = useMemo(
    () => timelineRows(room.messages, room.pending, room.hasOlder, newAfter, me?.id),
    [room.messages, room.pending, room.hasOlder, newAfter, me?.id],
  );

  const { window: virtualizer, scrollElement, measureRow } = useRowWindow(rows, estimate, scrollRef, 8);

  // --- staying at the bottom (the row window keeps the view still when older messages are put above)
  const atBottom = useRef(true);
  /** How far the newest message is: in view, just out of it, or a screen or more away. */
  const [distance, setDistance] = useState<"here" | "near" | "far">("here");
  const firstSeq = room.messages[0]?.seq;
  const shownFirstSeq = useRef(firstSeq);
  const initialScrollDone = useRef(false);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || !loaded) return;
    // Older messages put above (or the latest page in place of a stretch further back): unless the view
    // follows the newest, it stays on what was being read.
    const prepended = shownFirstSeq.current !== undefined && shownFirstSeq.current !== firstSeq;
    shownFirstSeq.current = firstSeq;
    if (prepended && initialScrollDone.current && !atBottom.current) return;
    if (!initialScrollDone.current) {
      initialScrollDone.current = true;
      const divider = rows.findIndex((r) => r.kind === "new");
      // Opened at the first unread: what follows is read as it comes into view, not skipped to.
      atBottom.current = divider < 0;
      if (divider >= 0) virtualizer.scrollToIndex(divider, "start", DIVIDER_CONTEXT_PX);
      else virtualizer.scrollToIndex(rows.length - 1, "end");
      return;
    }
    if (atBottom.current && !newer) virtualizer.scrollToIndex(rows.length - 1, "end");
  }, [rows, loaded, firstSeq, virtualizer, newer]);

  const loadingOlder = useRef(false);
  const loadOlder = useCallback(async (): Promise<boolean> => {
    if (loadingOlder.current) return false;
    loadingOlder.current = true;
    try {
      return await client.loadOlder(room.roomId);
    } catch {
      return false;
    } finally {
      loadingOlder.current = false;
    }
  }, [client, room.roomId]);

  const loadingNewer = useRef(false);
  const loadNewer = useCallback(async () => {
    if (loadingNewer.current) return;
    loadingNewer.current = true;
    try {
      await client.loadNewer(room.roomId);
    } catch {
      // Scrolling down again tries again.
    } finally {
      loadingNewer.current = false;
    }
  }, [client, room.roomId]);

  // --- the read marker: the newest message fully on screen, once the tab is visible
  const readTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const lastRead = useRef(room.lastReadSeq);
  lastRead.current = room.lastReadSeq;
  /** Moves the read marker to the newest message fully on screen now (nothing while the tab is hidden). */
  const readNow = useCallback(() => {
    readTimer.current = undefined;
    const el = scrollRef.current;
    if (!el || document.visibilityState !== "visible") return;
    const bottom = el.scrollTop + el.clientHeight;
    let seen = 0n;
    for (const item of virtualizer.items()) {
      const row = rows[item.index];
      if (row?.kind === "message" && item.end <= bottom + 4 && row.message.seq > seen) seen = row.message.seq;
    }
    if (seen > lastRead.current) void client.markRead(room.roomId, seen).catch(() => undefined);
  }, [client, room.roomId, rows, virtualizer]);
  const readNowRef = useRef(readNow);
  readNowRef.current = readNow;
  // At most one read per READ_DELAY_MS, taken when it ends (where the view settled), however often asked:
  // messages arriving faster than that must not put it off for ever.
  const markSeen = useCallback(() => {
    if (readTimer.current === undefined) readTimer.current = setTimeout(() => readNowRef.current(), READ_DELAY_MS);
  }, []);

  // New rows (messages arriving, pages loading) may put new messages on screen.
  useEffect(() => {
    if (loaded && rows.length > 0) markSeen();
  }, [loaded, markSeen, rows]);
  useEffect(() => {
    document.addEventListener("visibilitychange", markSeen);
    return () => document.removeEventListener("visibilitychange", markSeen);
  }, [markSeen]);
  // Leaving the room with a read still to take: what is on screen now was seen. (A layout effect's cleanup runs
  // while the log is still in the DOM.)
  useLayoutEffect(
    () => () => {
      if (readTimer.current === undefined) return;
      clearTimeout(readTimer.current);
      readNowRef.current();
    },
    [],
  );

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    const bottomGap = el.scrollHeight - el.scrollTop - el.clientHeight;
    // The end of a stretch that stops short of the newest is not the bottom: newer pages come below it.
    atBottom.current = bottomGap < AT_BOTTOM_PX && !newer;
    setDistance(bottomGap > el.clientHeight ? "far" : bottomGap > AT_BOTTOM_PX ? "near" : "here");
    if (el.scrollTop < NEAR_TOP_PX && room.hasOlder && initialScrollDone.current) void loadOlder();
    if (bottomGap < NEAR_TOP_PX && newer && initialScrollDone.current) void loadNewer();
    markSeen();
  };

  // --- jumping to a replied-to message, loading older pages until it is there
  const [highlight, setHighlight] = useState<string>();
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const jumpTo = useCallback(
    async (messageId: string) => {
      atBottom.current = false;
      for (let page = 0; page <= MAX_PAGES_TO_FIND; page++) {
        const index = rowsRef.current.findIndex((r) => r.kind === "message" && r.message.id === messageId);
        if (index >= 0) {
          virtualizer.scrollToIndex(index, "center");
          setHighlight(messageId);
          setTimeout(() => setHighlight((h) => (h === messageId ? undefined : h)), 2000);
          return;
        }
        // The last page loaded may hold it: look once more before giving up (only nothing older ends the search).
        if (!client.getSnapshot().roomsById.get(room.roomId)?.hasOlder) return;
        const before = rowsRef.current;
        try {
          await client.loadOlder(room.roomId);
        } catch {
          return;
        }
        // The rows are those of the page just loaded once React has rendered it.
        for (let frame = 0; frame < 30 && rowsRef.current === before; frame++)
          await new Promise((resolve) => requestAnimationFrame(resolve));
      }
    },
    [client, room.roomId, virtualizer],
  );

  const byId = useMemo(() => new Map(room.messages.map((m) => [m.id, m])), [room.messages]);

  if (!loaded) {
    // What the user sent meanwhile shows even before the room's messages could be fetched (offline).
    return (
      <div className="timeline-wrap">
        <div className="timeline timeline-loading">
          <p role="status">Loading messages…</p>
          {room.pending.map((p) => (
            <PendingItem key={p.clientMessageId} pending={p} />
          ))}
        </div>
      </div>
    );
  }

  return (
    <div className="timeline-wrap">
      <div
        ref={scrollElement}
        className="timeline"
        role="log"
        aria-label="Messages"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls from the keyboard
        tabIndex={0}
        onScroll={onScroll}
      >
        <div className="timeline-inner" style={{ height: virtualizer.totalSize() }}>
          {virtualizer.render().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <div
                key={item.key}
                data-key={item.key}
                ref={measureRow}
                className="timeline-row"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {row.kind === "start" &&
                  (row.more ? (
                    <p className="timeline-start">Loading older messages…</p>
                  ) : (
                    <p className="timeline-start">This is the beginning of the room.</p>
                  ))}
                {row.kind === "day" && (
                  <div className="day-separator">
                    <span>{row.label}</span>
                  </div>
                )}
                {row.kind === "new" && (
                  <div className="new-divider">
                    <span>New messages</span>
                  </div>
                )}
                {row.kind === "message" && (
                  <MessageItem
                    message={row.message}
                    grouped={row.grouped}
                    parent={row.message.parentId ? byId.get(row.message.parentId) : undefined}
                    mine={row.message.senderId === me?.id}
                    moderator={moderator}
                    readOnly={readOnly}
                    highlighted={highlight === row.message.id}
                    onDraft={onDraft}
                    onJump={jumpTo}
                  />
                )}
                {row.kind === "pending" && <PendingItem pending={row.pending} />}
              </div>
            );
          })}
        </div>
      </div>
      {(newer || distance === "far" || (distance === "near" && room.unreadCount > 0n)) && (
        <button
          type="button"
          className="jump-latest"
          onClick={async () => {
            atBottom.current = true;
            if (newer) await client.loadLatest(room.roomId).catch(() => undefined);
            virtualizer.scrollToIndex(rowsRef.current.length - 1, "end");
          }}
        >
          {room.unreadCount > 0n
            ? `${room.unreadCount > 99n ? "99+" : room.unreadCount} new message${room.unreadCount === 1n ? "" : "s"} ↓`
            : "Jump to latest ↓"}
        </button>
      )}
    </div>
  );
}
