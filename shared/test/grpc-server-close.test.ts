/**
 * close() ends within its bound whatever its clients do: a call left running,
 * or a connection that never became an HTTP/2 session (a client that dialled
 * as the server stopped). Either used to hold grpc-js's tryShutdown callback,
 * and chat-svc's shutdown, until the 20 s backstop killed it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection } from "node:net";
import { test } from "node:test";
import { createGrpcServer } from "../src/grpc-server.js";

async function listening() {
  const server = createGrpcServer({ bindings: [] });
  const port = await server.listen({ host: "127.0.0.1", port: 0 });
  return { server, port };
}

async function closeTakes(close: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await Promise.race([
    close(),
    new Promise((_, reject) => setTimeout(() => reject(new Error("close() did not end within 10 s")), 10_000).unref()),
  ]);
  return performance.now() - started;
}

test("close() with no clients ends at once", async () => {
  const { server } = await listening();
  assert.ok((await closeTakes(() => server.close())) < 1_000);
});

test("close() ends within its bound while a client holds a connection that sent nothing", async () => {
  const { server, port } = await listening();
  const socket = createConnection({ host: "127.0.0.1", port });
  await once(socket, "connect");
  socket.on("error", () => {});
  try {
    const ms = await closeTakes(() => server.close());
    assert.ok(ms < 5_000, `close() took ${ms} ms`);
  } finally {
    socket.destroy();
  }
});

test("close() ends within its bound while a client holds a half-sent HTTP/2 preface", async () => {
  const { server, port } = await listening();
  const socket = createConnection({ host: "127.0.0.1", port });
  await once(socket, "connect");
  socket.on("error", () => {});
  socket.write("PRI * HTTP/2.0\r\n");
  try {
    const ms = await closeTakes(() => server.close());
    assert.ok(ms < 5_000, `close() took ${ms} ms`);
  } finally {
    socket.destroy();
  }
});
