/**
 * An operator reads a clean start's log as good news: every component
 * connects to what it needs and says so, with no warning on the way (its
 * connections' first attempts are "connecting", not an outage).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type RunningSystem, startSystem, waitUntil } from "./support/system.js";

let system: RunningSystem;

before(async () => {
  system = await startSystem();
});

after(() => system?.close());

interface Line {
  level?: number;
  msg?: string;
}

function lines(component: string): Line[] {
  return (system.components.get(component)?.output ?? [])
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);
}

async function ready(url: string): Promise<boolean> {
  return fetch(url).then(
    (res) => res.ok,
    () => false,
  );
}

test("a clean start logs no warning or error on its way to ready", async () => {
  const readyz = [
    `http://127.0.0.1:${system.ports.userMetrics}/readyz`,
    `http://127.0.0.1:${system.ports.chatMetrics}/readyz`,
    `${system.edgeUrl}/readyz`,
  ];
  await waitUntil(
    async () => (await Promise.all(readyz.map(ready))).every(Boolean),
    15_000,
    () => "the components never became ready",
  );
  // The edge is left out: here it starts beside chat-svc rather than after it (npm start waits), and
  // serves no web build, each worth its warning.
  for (const component of ["user-svc", "chat-svc", "mail-worker"]) {
    const loud = lines(component).filter((l) => (l.level ?? 0) >= 40);
    assert.deepEqual(
      loud.map((l) => l.msg),
      [],
      `${component} warned on a clean start`,
    );
  }
});
