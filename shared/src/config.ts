/**
 * Typed, validated configuration read once at start-up. Each component's
 * config.ts declares its variables with these parsers; every problem is
 * collected so that one failed start names all bad or missing variables.
 */

export type Parser<T> = (raw: string | undefined) => T;

/** Thrown by a parser with a message that completes "NAME <message>". */
class Invalid extends Error {}

/**
 * For a component's own parsers: the problem is reported with every other
 * variable's, as "NAME <message>".
 */
export function invalid(message: string): Error {
  return new Invalid(message);
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function present(raw: string | undefined): raw is string {
  return raw !== undefined && raw.trim() !== "";
}

export function str(opts: { default?: string; minLength?: number } = {}): Parser<string> {
  return (raw) => {
    if (!present(raw)) {
      if (opts.default !== undefined) return opts.default;
      throw new Invalid("is required but missing");
    }
    if (opts.minLength !== undefined && raw.length < opts.minLength) {
      throw new Invalid(`must be at least ${opts.minLength} characters long`);
    }
    return raw;
  };
}

export function optionalStr(): Parser<string | undefined> {
  return (raw) => (present(raw) ? raw : undefined);
}

export function int(opts: { default?: number; min?: number; max?: number } = {}): Parser<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return (raw) => {
    if (!present(raw)) {
      if (opts.default !== undefined) return opts.default;
      throw new Invalid("is required but missing");
    }
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max) {
      throw new Invalid(`must be an integer from ${min} to ${max} (got "${raw}")`);
    }
    return n;
  };
}

export function port(defaultPort: number): Parser<number> {
  return int({ default: defaultPort, min: 0, max: 65535 });
}

export function url(opts: { default?: string; protocols: readonly string[] }): Parser<string> {
  return (raw) => {
    const value = present(raw) ? raw : opts.default;
    if (value === undefined) throw new Invalid("is required but missing");
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new Invalid(`must be a URL (got "${value}")`);
    }
    if (!opts.protocols.includes(parsed.protocol.replace(/:$/, ""))) {
      throw new Invalid(`must be a ${opts.protocols.join(" or ")} URL (got "${parsed.protocol}")`);
    }
    return value;
  };
}

export function bool(defaultValue: boolean): Parser<boolean> {
  return (raw) => {
    if (!present(raw)) return defaultValue;
    const value = raw.trim().toLowerCase();
    if (value !== "true" && value !== "false") throw new Invalid(`must be "true" or "false" (got "${raw}")`);
    return value === "true";
  };
}

export function oneOf<const T extends string>(values: readonly T[], defaultValue: T): Parser<T> {
  return (raw) => {
    if (!present(raw)) return defaultValue;
    if (!(values as readonly string[]).includes(raw)) {
      throw new Invalid(`must be one of ${values.join(", ")} (got "${raw}")`);
    }
    return raw as T;
  };
}

export type ConfigOf<S extends Record<string, Parser<unknown>>> = {
  readonly [K in keyof S]: ReturnType<S[K]>;
};

/** Parses `env` against `spec`, keyed by variable name; throws ConfigError. */
export function loadConfig<S extends Record<string, Parser<unknown>>>(
  spec: S,
  env: Record<string, string | undefined>,
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, parse] of Object.entries(spec)) {
    try {
      out[name] = parse(env[name]);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      problems.push(`${name} ${err.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

export function optionalUrl(opts: { protocols: readonly string[] }): Parser<string | undefined> {
  const parse = url(opts);
  return (raw) => (present(raw) ? parse(raw) : undefined);
}

/** A number from 0 to 1, e.g. a sampling ratio. */
export function ratio(defaultValue: number): Parser<number> {
  return (raw) => {
    if (!present(raw)) return defaultValue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new Invalid(`must be a number from 0 to 1 (got "${raw}")`);
    return n;
  };
}

/**
 * OpenTelemetry's standard variables, as far as Parley supports them. The
 * tracing preload (tracing/register.ts) and the SDK read them before any
 * config.ts runs; they are declared here so that a bad value stops the
 * component with the others' problems rather than failing at the first
 * export, and so that .env.example lists them.
 */
export const tracing = {
  /** Unset: tracing off, nothing loaded. The exporter posts to `<this>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl({ protocols: ["http", "https"] }),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(["http/protobuf", "http/json"], "http/protobuf"),
  /** Unset: the component's name. */
  OTEL_SERVICE_NAME: optionalStr(),
  OTEL_TRACES_SAMPLER: oneOf(
    [
      "always_on",
      "always_off",
      "traceidratio",
      "parentbased_always_on",
      "parentbased_always_off",
      "parentbased_traceidratio",
    ],
    "parentbased_always_on",
  ),
  OTEL_TRACES_SAMPLER_ARG: ratio(1),
};

/** Common variables, by their seed names. */
export const common = {
  NODE_ENV: oneOf(["development", "production", "test"], "development"),
  LOG_LEVEL: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"),
  ...tracing,
  // Milliseconds between a stop signal (when /readyz turns 503) and closing, for a load balancer to drain (main.ts).
  SHUTDOWN_DRAIN_MS: int({ default: 0, min: 0, max: 300_000 }),
};

/**
 * For the components that own a database. "false" when a separate
 * `npm run migrate` (the Kubernetes migration Job) migrates it, so replicas
 * need no CREATEDB or DDL rights at boot.
 */
export const migrations = {
  MIGRATE_ON_START: bool(true),
};
