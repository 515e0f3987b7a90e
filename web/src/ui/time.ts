import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const yearDayFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });
const shortDayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

export const dateOf = (t: Timestamp | undefined): Date => (t ? timestampDate(t) : new Date(0));
const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString();

/** The sidebar's time: the hour today, the date before. */
export function shortTime(t: Timestamp | undefined): string {
  const d = dateOf(t);
  return sameDay(d, new Date()) ? timeFmt.format(d) : shortDayFmt.format(d);
}

export const clockTime = (t: Timestamp | undefined) => timeFmt.format(dateOf(t));
export const fullTime = (t: Timestamp | undefined) => fullFmt.format(dateOf(t));
export const dayKey = (t: Timestamp | undefined) => dateOf(t).toDateString();

/** A day separator's words: Today, Yesterday, or the date. */
export function dayLabel(t: Timestamp | undefined): string {
  const d = dateOf(t);
  const now = new Date();
  if (sameDay(d, now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(d, yesterday)) return "Yesterday";
  return d.getFullYear() === now.getFullYear() ? dayFmt.format(d) : yearDayFmt.format(d);
}
