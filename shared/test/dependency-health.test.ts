/**
 * What a component logs about the servers it needs: a clean start, whose
 * connections are still making their first attempt, warns about nothing.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { createDependencyHealth } from "../src/dependency-health.js";

function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

const WARN = 40;

test("connections making their first attempt are not serving yet, and warn about nothing when it succeeds", () => {
  const { logger, lines } = recordingLogger();
  const health = createDependencyHealth({ logger, needs: ["redis", "rabbitmq"] });
  const redis = health.track("redis", "redis", "connecting");
  const amqp = health.track("rabbitmq", "rabbitmq", "connecting");
  assert.equal(health.serving, false);
  redis(true);
  amqp(true);
  assert.equal(health.serving, true);
  assert.deepEqual(
    lines.map((l) => l.msg),
    ["every server this needs is up: serving"],
  );
});

test("a first attempt that fails is an outage, warned about once", () => {
  const { logger, lines } = recordingLogger();
  const health = createDependencyHealth({ logger, needs: ["redis", "rabbitmq"] });
  const redis = health.track("redis", "redis", "connecting");
  health.track("rabbitmq", "rabbitmq", "connecting");
  redis(false, new Error("connect ECONNREFUSED 127.0.0.1:6379"));
  redis(false, new Error("connect ECONNREFUSED 127.0.0.1:6379"));
  const warnings = lines.filter((l) => l.level === WARN).map((l) => l.msg);
  assert.deepEqual(warnings, ["not serving while redis is down"]);
});

test("a dependency this goes on without says nothing when its first attempt succeeds", () => {
  const { logger, lines } = recordingLogger();
  const health = createDependencyHealth({ logger, needs: ["postgres"] });
  const amqp = health.track("rabbitmq", "rabbitmq", "connecting");
  assert.equal(health.serving, true);
  amqp(true);
  assert.equal(lines.length, 0);
  amqp(false, new Error("gone"));
  amqp(true);
  assert.deepEqual(
    lines.map((l) => l.msg),
    ["rabbitmq is down; this goes on without it", "rabbitmq is up again"],
  );
});

test("a connection already down when tracking starts is warned about at once", () => {
  const { logger, lines } = recordingLogger();
  const health = createDependencyHealth({ logger, needs: ["postgres"] });
  health.track("postgres", "postgres", false);
  assert.deepEqual(
    lines.filter((l) => l.level === WARN).map((l) => l.msg),
    ["not serving while postgres is down"],
  );
});
