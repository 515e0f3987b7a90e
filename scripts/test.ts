/**
 * `npm test`: every check CI makes, in order, failing fast.
 *  1. proto: buf lint, and the committed generated code matches a fresh `buf generate`;
 *  2. types: tsc --noEmit over the whole workspace;
 *  3. lint: biome ci (warnings are errors);
 *  4. tests: node:test through tsx over every *.test.ts (units beside code, integration in
 *     <component>/test, the whole system in test/e2e), against the real PostgreSQL, Redis
 *     and RabbitMQ. Extra arguments are passed to node --test (e.g. a file list).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
const only = args.filter((a) => a.endsWith(".ts"));
const skipChecks = only.length > 0;

function run(title: string, cmd: string, cmdArgs: string[]): void {
  process.stdout.write(`\n== ${title}\n`);
  const started = Date.now();
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    process.stdout.write(`\n${title} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`== ${title}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) filesUnder(path, out);
    else out.push(path);
  }
  return out;
}

function checkGeneratedCode(): void {
  const scratch = mkdtempSync(join(tmpdir(), "parley-proto-"));
  try {
    run("proto: lint", bin("buf"), ["lint"]);
    run("proto: generate into scratch", bin("buf"), ["generate", "-o", scratch]);
    run("proto: build descriptor set into scratch", bin("buf"), ["build", "-o", join(scratch, "parley.binpb")]);
    const committed = filesUnder(join(root, "proto/gen")).filter((f) => f.endsWith(".ts"));
    const fresh = filesUnder(join(scratch, "proto/gen"));
    const stale: string[] = [];
    const rel = (base: string, f: string) => relative(base, f);
    const freshSet = new Set(fresh.map((f) => rel(join(scratch, "proto/gen"), f)));
    for (const f of committed)
      if (!freshSet.has(rel(join(root, "proto/gen"), f))) stale.push(`${f} (no longer generated)`);
    for (const f of fresh) {
      const mine = join(root, "proto/gen", rel(join(scratch, "proto/gen"), f));
      let same = false;
      try {
        same = readFileSync(mine).equals(readFileSync(f));
      } catch {}
      if (!same) stale.push(mine);
    }
    if (!readFileSync(join(root, "proto/gen/parley.binpb")).equals(readFileSync(join(scratch, "parley.binpb")))) {
      stale.push("proto/gen/parley.binpb");
    }
    if (stale.length > 0) {
      process.stdout.write(`\nGenerated code is stale; run \`npm run proto\` and commit:\n  ${stale.join("\n  ")}\n`);
      process.exit(1);
    }
    process.stdout.write("== proto: generated code is up to date\n");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (!skipChecks) {
  checkGeneratedCode();
  run("types: tsc", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
  run("types: tsc (web)", bin("tsc"), ["-p", "web/tsconfig.json", "--noEmit"]);
  run("lint: biome", bin("biome"), ["ci", "."]);
}

// Fault tests stop and start the machine's shared servers, or cut components off from them through proxies
// and time how they recover and stop, so they run alone, after everything else.
const isFault = (f: string) => f.startsWith("test/faults/");
const testFiles = only.length
  ? only
  : filesUnder(root)
      .filter((f) => f.endsWith(".test.ts") && !f.includes(`${join(root, "proto")}/`))
      .map((f) => relative(root, f))
      .sort();
const nodeTest = (files: string[], concurrency: number) => [
  "--import",
  "tsx",
  "--test",
  `--test-concurrency=${concurrency}`,
  "--test-timeout=180000",
  ...args.filter((a) => !a.endsWith(".ts")),
  ...files,
];
const parallel = testFiles.filter((f) => !isFault(f));
const serial = testFiles.filter(isFault);

/** Runs node --test, streaming its report, and returns its pass/fail counts. */
function runTests(title: string, files: string[], concurrency: number): Promise<{ pass: number; fail: number }> {
  process.stdout.write(`\n== ${title}\n`);
  const started = Date.now();
  const child = spawn(process.execPath, nodeTest(files, concurrency), {
    cwd: root,
    stdio: ["inherit", "pipe", "inherit"],
  });
  let tail = "";
  child.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    tail = (tail + chunk.toString()).slice(-4096);
  });
  return new Promise((resolve) => {
    child.on("close", (code) => {
      const count = (name: string) => Number(new RegExp(`^(?:#|ℹ) ${name} (\\d+)`, "m").exec(tail)?.[1] ?? 0);
      const counts = { pass: count("pass"), fail: count("fail") };
      process.stdout.write(`== ${title}: exit ${code} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      if (code !== 0 && counts.fail === 0) counts.fail = 1;
      resolve(counts);
    });
  });
}

const totals = { pass: 0, fail: 0 };
for (const [title, files, concurrency] of [
  [`tests: ${parallel.length} files`, parallel, 4],
  [`fault tests: ${serial.length} files, one at a time`, serial, 1],
] as const) {
  if (files.length === 0) continue;
  const { pass, fail } = await runTests(title, [...files], concurrency);
  totals.pass += pass;
  totals.fail += fail;
  if (fail > 0) break;
}
process.stdout.write(`\ntests: ${totals.pass} passed, ${totals.fail} failed\n`);
process.exit(totals.fail > 0 ? 1 : 0);
