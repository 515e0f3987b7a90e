/**
 * The edge's dialer: a service that is down is dialled once per back-off
 * step rather than once per call, a socket connected to itself is dropped at
 * once (so the service can bind its port), and dialling resumes once the
 * service listens.
 */
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { UserService } from "@parley/proto/user/v1/user_pb.js";
import { createLogger } from "@parley/shared/logger.js";
import { freePort } from "@parley/shared/testing.js";
import { createServiceClients } from "./clients.js";
import { createServiceDialer, isSelfConnected } from "./service-dialer.js";
import { createServiceTokenSource } from "./service-token.js";

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
test("calls to a service that is down dial it once per back-off step, not once per call", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const clients = createServiceClients({
    userSvcUrl: url,
    chatSvcUrl: url,
    logger: createLogger("edge", "silent"),
    serviceToken: createServiceTokenSource("a-test-secret-of-at-least-32-chars!"),
  });
  let dials = 0;
  const count = () => {
    dials++;
  };
  subscribe("net.client.socket", count);
  try {
    for (let i = 0; i < 20; i++) {
      await assert.rejects(clients.user.getProfile({}), (err: unknown) => {
        assert.ok(err instanceof ConnectError);
        assert.equal(err.code, Code.Unavailable);
        return true;
      });
    }
  } finally {
    unsubscribe("net.client.socket", count);
    clients.close();
  }
  // The first call dials and fails; the next ones fall inside the first step's 100 ms.
  assert.ok(dials <= 2, `${dials} dials for 20 calls`);
});

test("a connection to itself is dropped at once: the call is unavailable and the port can be bound", async () => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let selfConnected = false;
  // The kernel hands out a port in its ephemeral range as the source port now and then; pinning it makes it certain.
  const dialer = createServiceDialer({
    open: (opts) => {
      const socket = connect({ ...opts, localAddress: "127.0.0.1", localPort: port });
      socket.once("connect", () => {
        selfConnected = isSelfConnected(socket);
      });
      return socket;
    },
  });
  const sessionManager = new Http2SessionManager(baseUrl, {}, { createConnection: dialer.dial });
  const client = createClient(UserService, createGrpcTransport({ baseUrl, sessionManager }));
  try {
    await assert.rejects(client.getProfile({}), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.Unavailable, err.message);
      assert.match(err.message, /connected to itself/);
      return true;
    });
    assert.ok(selfConnected, "the socket did connect to itself");
    assert.ok(dialer.backOffMs() > 0, "it counts as a failed attempt");
    const server = createServer().listen(port, "127.0.0.1");
    await once(server, "listening");
    await new Promise((resolve) => server.close(resolve));
  } finally {
    sessionManager.abort();
  }
});

test("after a failed dial calls back off for a delay that doubles, and a connect ends it", async () => {
  const port = await freePort();
  const dialer = createServiceDialer({ firstDelayMs: 200 });
  const authority = new URL(`http://127.0.0.1:${port}`);
  const fail = async () => {
    const [err] = (await once(dialer.dial(authority), "error")) as [Error];
    assert.match(err.message, /ECONNREFUSED/);
  };
  assert.equal(dialer.backOffMs(), 0);
  await fail();
  const first = dialer.backOffMs();
  assert.ok(first > 100 && first <= 200, `${first} ms`);
  await fail();
  assert.ok(dialer.backOffMs() > 200, "the second failure waits longer");

  const server = createServer((s) => s.destroy()).listen(port, "127.0.0.1");
  await once(server, "listening");
  try {
    const socket = dialer.dial(authority);
    await once(socket, "connect");
    assert.equal(dialer.backOffMs(), 0, "a connect ends the back-off");
    socket.destroy();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
