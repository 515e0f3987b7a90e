/** The Node versions Parley runs on, said the same in package.json and the README, and true of the dependencies. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

const root = new URL("..", import.meta.url);

async function json(path: string): Promise<{ engines?: { node?: string } }> {
  return JSON.parse(await readFile(new URL(path, root), "utf8")) as { engines?: { node?: string } };
}

test("package.json's engines is the README's minimum and what Vite (the highest floor) needs", async () => {
  const engines = (await json("package.json")).engines?.node;
  // Vite builds the web app on `npm start`: its floor is the project's.
  assert.equal(engines, (await json("node_modules/vite/package.json")).engines?.node);
  assert.equal(engines, "^20.19.0 || >=22.12.0");
  const readme = await readFile(new URL("README.md", root), "utf8");
  assert.match(readme, /Both need Node 20\.19\+ \(22\.12\+ on Node 22/);
});
