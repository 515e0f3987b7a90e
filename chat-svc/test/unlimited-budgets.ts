/**
 * chat-svc variables that lift every per-user budget far above what the
 * stress tests send (hundreds of sends from one user at once). The budget
 * tests set their own.
 */
export const UNLIMITED_BUDGETS: Readonly<Record<string, string>> = Object.fromEntries(
  ["SEND", "EDIT", "REACT", "READ"].flatMap((action) => [
    [`USER_${action}_RATE`, "1000000"],
    [`USER_${action}_BURST`, "1000000"],
  ]),
);
