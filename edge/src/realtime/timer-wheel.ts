/**
 * A periodic visit to every member, spread over the period: members are dealt
 * into slots and each tick visits one slot, so each member is still visited
 * once per period, but never all of them in one burst. A burst holds up
 * event delivery to every socket behind it for as long as it takes: with a
 * thousand users on an edge, one round of presence refreshes (a call per
 * user) stalled delivery for half a second. The heartbeat (ping and frame
 * per socket) and the presence refresh both run on one.
 */

/** A tick at most this often; a short period gets fewer slots rather than faster ticks. */
const MIN_TICK_MS = 100;
const MAX_SLOTS = 64;

export interface TimerWheel<T> {
  add(member: T): void;
  delete(member: T): void;
  stop(): void;
}

export function startTimerWheel<T>(
  periodMs: number,
  /** Called once per tick with the members of that tick's slot. */
  visit: (members: ReadonlySet<T>) => void,
): TimerWheel<T> {
  const slotCount = Math.max(1, Math.min(MAX_SLOTS, Math.floor(periodMs / MIN_TICK_MS)));
  const slots = Array.from({ length: slotCount }, () => new Set<T>());
  const slotOf = new Map<T, Set<T>>();
  let dealt = 0;
  let current = 0;
  const timer = setInterval(() => {
    const slot = slots[current] as Set<T>;
    current = (current + 1) % slotCount;
    if (slot.size > 0) visit(slot);
  }, periodMs / slotCount);
  timer.unref();
  return {
    add(member) {
      if (slotOf.has(member)) return;
      // Round robin keeps the slots within one member of each other.
      const slot = slots[dealt] as Set<T>;
      dealt = (dealt + 1) % slotCount;
      slot.add(member);
      slotOf.set(member, slot);
    },
    delete(member) {
      slotOf.get(member)?.delete(member);
      slotOf.delete(member);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
