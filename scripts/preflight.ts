/**
 * What `npm start` (and the operator scripts) check before anything else:
 * that PostgreSQL, Redis and RabbitMQ accept connections at the addresses the
 * components will use. A TCP connection is the question asked, because it is
 * the one every component asks first, and its failure (refused, unknown host,
 * timeout) is what a newcomer without the infrastructure meets.
 *
 * When one is missing and a Docker engine answers, the missing ones are started
 * from docker-compose.yml's `local` profile (ports published on 127.0.0.1 with
 * the credentials the defaults below expect, plus the Mailpit inbox) and waited
 * for until healthy; without an engine, each is named with the variable that
 * points at it and a command that would start it.
 */
import { spawnSync } from "node:child_process";
import { connect } from "node:net";

export interface Infrastructure {
  /** What an operator calls it. */
  readonly service: "PostgreSQL" | "Redis" | "RabbitMQ";
  /** The variable that points the components at it. */
  readonly variable: "DATABASE_URL" | "REDIS_URL" | "RABBITMQ_URL";
  readonly url: string;
  /** The docker-compose.yml service of the `local` profile that provides it. */
  readonly composeService: string;
  readonly defaultPort: number;
  /** Starts it on this machine without Docker (Debian/Ubuntu). */
  readonly hostCommand: string;
}

/** The same defaults as the components' config.ts (user-svc's database stands for all three databases: one server). */
export const DEFAULT_URLS = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/parley_user",
  REDIS_URL: "redis://127.0.0.1:6379",
  RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:5672",
} as const;

export function infrastructure(env: NodeJS.ProcessEnv): Infrastructure[] {
  return [
    {
      service: "PostgreSQL",
      variable: "DATABASE_URL",
      url: env.DATABASE_URL ?? DEFAULT_URLS.DATABASE_URL,
      composeService: "local-postgres",
      defaultPort: 5432,
      hostCommand: "sudo apt-get install -y postgresql && sudo service postgresql start",
    },
    {
      service: "Redis",
      variable: "REDIS_URL",
      url: env.REDIS_URL ?? DEFAULT_URLS.REDIS_URL,
      composeService: "local-redis",
      defaultPort: 6379,
      hostCommand: "sudo apt-get install -y redis-server && sudo service redis-server start",
    },
    {
      service: "RabbitMQ",
      variable: "RABBITMQ_URL",
      url: env.RABBITMQ_URL ?? DEFAULT_URLS.RABBITMQ_URL,
      composeService: "local-rabbitmq",
      defaultPort: 5672,
      hostCommand: "sudo apt-get install -y rabbitmq-server && sudo service rabbitmq-server start",
    },
  ];
}

/** The URL without its password, fit for a message. */
export function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/** Resolves to undefined when host:port accepts a TCP connection, else to why not (e.g. "ECONNREFUSED"). */
export function probe(url: string, defaultPort: number, timeoutMs = 2000): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    port = u.port ? Number(u.port) : defaultPort;
  } catch {
    return Promise.resolve("not a URL");
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs);
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.once("connect", () => done(undefined));
    socket.once("timeout", () => done(`no answer within ${timeoutMs} ms`));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** The infrastructure not reachable now, each with why. */
export async function unreachable(env: NodeJS.ProcessEnv): Promise<{ infra: Infrastructure; why: string }[]> {
  const results = await Promise.all(
    infrastructure(env).map(async (infra) => ({ infra, why: await probe(infra.url, infra.defaultPort) })),
  );
  return results.flatMap(({ infra, why }) => (why === undefined ? [] : [{ infra, why }]));
}

/** One paragraph per missing service: what, where, why, and how to start it. */
export function describeUnreachable(missing: readonly { infra: Infrastructure; why: string }[]): string {
  return missing
    .map(
      ({ infra, why }) =>
        `${infra.service} is not reachable at ${redacted(infra.url)} (${why}).\n` +
        `  Point ${infra.variable} at a running ${infra.service}, or start one:\n` +
        `    docker compose --profile local up -d --wait ${infra.composeService}\n` +
        `    (without Docker) ${infra.hostCommand}\n`,
    )
    .join("\n");
}

/** True when a Docker engine answers (the CLI alone is not enough). */
export function dockerEngineAvailable(): boolean {
  const r = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "ignore", timeout: 10_000 });
  return r.status === 0;
}

/**
 * Checks the infrastructure, starting what is missing with Docker when it can.
 * Returns the message to print and exit with when something is still missing, else undefined.
 */
export async function preflight(
  env: NodeJS.ProcessEnv,
  opts: { root: string; log: (line: string) => void; docker?: () => boolean },
): Promise<string | undefined> {
  const missing = await unreachable(env);
  if (missing.length === 0) return undefined;
  const hasDocker = (opts.docker ?? dockerEngineAvailable)();
  if (!hasDocker)
    return `${describeUnreachable(missing)}\nNo Docker engine answers here, so npm start cannot start them itself.`;
  const services = [...missing.map((m) => m.infra.composeService), "local-mailpit"];
  opts.log(`starting ${missing.map((m) => m.infra.service).join(", ")} from docker-compose.yml (profile local)`);
  const up = spawnSync("docker", ["compose", "--profile", "local", "up", "-d", "--wait", ...services], {
    cwd: opts.root,
    stdio: "inherit",
  });
  if (up.status !== 0) return `${describeUnreachable(missing)}\ndocker compose up failed (exit ${up.status}).`;
  const still = await unreachable(env);
  return still.length === 0 ? undefined : describeUnreachable(still);
}

/**
 * For the operator scripts: opens a connection, or prints why not (naming the
 * service, its variable and a command that starts it, no stack trace) and exits 1.
 */
export async function connectOrExplain<T>(
  variable: Infrastructure["variable"],
  url: string,
  open: () => Promise<T>,
): Promise<T> {
  try {
    return await open();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    const infra = infrastructure({ [variable]: url }).find((i) => i.variable === variable);
    process.stderr.write(infra ? describeUnreachable([{ infra, why }]) : `${variable}: ${why}\n`);
    process.exit(1);
  }
}

/**
 * An operator command's broker connection lost halfway: one line naming it
 * and exit 1, rather than amqplib's unhandled "error" event and its stack.
 * Whatever the command had not finished stays with the broker (a fetched
 * message that was not acknowledged returns to its queue).
 */
export function exitOnConnectionLoss(
  conn: { on(event: "error", listener: (err: Error) => void): unknown },
  url: string,
): void {
  conn.on("error", (err: Error) => {
    process.stderr.write(`lost the connection to RabbitMQ at ${redacted(url)} (${err.message}); stopped\n`);
    process.exit(1);
  });
}
