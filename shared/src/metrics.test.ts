import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import { ChatService, GetRoomRequestSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { createCallMetrics } from "./call-metrics.js";
import { createLogger } from "./logger.js";
import { counter, hotCounter, registry } from "./metrics.js";
import { createOpsServer } from "./ops-server.js";

/** The value of the sample `line` starts with (name and labels as prom-client writes them), or undefined. */
async function sample(line: string): Promise<number | undefined> {
  const found = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

test("a hot counter's children add to plain numbers that a scrape reports per label", async () => {
  const frames = hotCounter({ name: "parley_test_frames_total", help: "test", labelNames: ["type"] });
  const events = frames.labels("event");
  events.inc();
  events.inc(4);
  frames.labels("error").inc();
  assert.equal(await sample('parley_test_frames_total{type="event"}'), 5);
  assert.equal(await sample('parley_test_frames_total{type="error"}'), 1);
  // A scrape does not reset what it reports: counters only go up.
  events.inc();
  assert.equal(await sample('parley_test_frames_total{type="event"}'), 6);
});

test("registering a series twice fails loudly", () => {
  counter({ name: "parley_test_twice_total", help: "test" });
  assert.throws(() => counter({ name: "parley_test_twice_total", help: "test" }), /already been registered/);
});

test("call metrics record the code each call ends with, streams when they end", async () => {
  const calls = createCallMetrics("connect");
  const method = ChatService.method.getRoom;
  const request = (signal = new AbortController().signal) =>
    ({ method, service: ChatService, signal, message: create(GetRoomRequestSchema) }) as unknown as UnaryRequest;
  const ok = calls.interceptor(async (req) => ({ stream: false, message: req.message }) as never);
  const failing = calls.interceptor(async () => {
    throw new ConnectError("no", Code.NotFound);
  });
  await ok(request());
  await assert.rejects(failing(request()));
  const labels = (code: string) => `{service="parley.chat.v1.ChatService",method="GetRoom",code="${code}"}`;
  assert.equal(await sample(`parley_connect_server_handled_total${labels("ok")}`), 1);
  assert.equal(await sample(`parley_connect_server_handled_total${labels("not_found")}`), 1);
  assert.equal(await sample(`parley_connect_server_handling_seconds_count${labels("not_found")}`), 1);

  // A stream the caller leaves early counts as cancelled, once it is left.
  const stream = ChatService.method.streamEvents;
  const abort = new AbortController();
  const streaming = calls.interceptor(
    async () =>
      ({
        stream: true,
        message: (async function* () {
          yield {};
          yield {};
        })(),
      }) as never,
  );
  const res = await streaming({
    method: stream,
    service: ChatService,
    signal: abort.signal,
  } as unknown as StreamRequest);
  const streamLabels = (code: string) => `{service="parley.chat.v1.ChatService",method="StreamEvents",code="${code}"}`;
  assert.equal(await sample(`parley_connect_server_handled_total${streamLabels("canceled")}`), undefined);
  assert.ok(res.stream);
  for await (const _ of res.message) {
    abort.abort();
    break;
  }
  assert.equal(await sample(`parley_connect_server_handled_total${streamLabels("canceled")}`), 1);
});

test("the ops listener: /livez answers, /readyz follows its check, /metrics is Prometheus text", async (t) => {
  let ready = true;
  const ops = createOpsServer({ ready: () => ready, logger: createLogger("test", "silent") });
  const port = await ops.listen({ host: "127.0.0.1", port: 0 });
  t.after(() => ops.close());
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  assert.equal((await get("/livez")).status, 200);
  assert.equal((await get("/readyz")).status, 200);
  ready = false;
  assert.equal((await get("/readyz")).status, 503);
  assert.equal((await get("/livez")).status, 200, "live while not ready");
  const metrics = await get("/metrics");
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(await metrics.text(), /^# HELP parley_/m);
  assert.equal((await get("/other")).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/livez`, { method: "POST" })).status, 404);
});
