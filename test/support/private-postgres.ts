/**
 * A PostgreSQL server of the test's own, for tests that stop or restart the
 * database: the machine's shared server must never be restarted (other test
 * files run against it). initdb into a temporary directory, trust auth, a
 * free port on 127.0.0.1, its socket in that directory; close() stops it and
 * deletes everything.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the server
 * runs as the `postgres` user (runuser), which owns the directory.
 */
import { execFile, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./system.js";

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl restart -m fast`: every session is ended, the server is back when this resolves. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`. */
  stop(): Promise<void>;
  /** `pg_ctl start`, waiting until it accepts connections. */
  start(): Promise<void>;
  /** The server's log so far, for a failed test's message. */
  log(): string;
  /** Stops the server and deletes its directory. */
  close(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory (Debian's layout), or PG_BIN. */
function binDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${base}; set PG_BIN to its bin directory`);
  return join(base, versions[0] as string, "bin");
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), "parley-pg-"));
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args], { timeout: 120_000 })
      : run(join(bin, tool), args, { timeout: 120_000 });

  await pg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  // fsync off: the data is thrown away; a restart needs no durability beyond the process.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) => pg("pg_ctl", ["-D", data, "-l", logFile, "-o", options, "-w", ...args]);
  await ctl("start");
  // Whatever ends the test process, the server must not outlive it.
  const stopAtExit = () => {
    const argv = ["-D", data, "stop", "-m", "immediate"];
    if (asRoot) spawnSync("runuser", ["-u", "postgres", "--", join(bin, "pg_ctl"), ...argv], { timeout: 30_000 });
    else spawnSync(join(bin, "pg_ctl"), argv, { timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stopAtExit);

  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async restart() {
      await ctl("restart", "-m", "fast");
      running = true;
    },
    async stop() {
      running = false;
      await ctl("stop", "-m", "fast");
    },
    async start() {
      await ctl("start");
      running = true;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async close() {
      process.off("exit", stopAtExit);
      if (running) await ctl("stop", "-m", "immediate").catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
