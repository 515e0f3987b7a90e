/**
 * The ops surface every internal service has: grpc.health.v1 reports
 * SERVING, server reflection lists and describes UserService, and bytes
 * that are not a request message are the caller's error.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { type Harness, startHarness } from "./harness.js";

const require = createRequire(import.meta.url);

let h: Harness;
let address: string;

before(async () => {
  h = await startHarness();
  address = `127.0.0.1:${h.app.port}`;
});

after(async () => {
  await h?.close();
});

test("grpc.health.v1 reports SERVING for the server and for UserService", async () => {
  const Health = grpc.makeClientConstructor(healthService as grpc.ServiceDefinition, "grpc.health.v1.Health");
  const client = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  };
  try {
    const check = (service: string) =>
      new Promise<string | undefined>((resolve, reject) =>
        client.check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status))),
      );
    assert.equal(await check(""), "SERVING");
    assert.equal(await check("parley.user.v1.UserService"), "SERVING");
    await assert.rejects(check("parley.nope.v1.Nope"), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  } finally {
    client.close();
  }
});

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

test("server reflection lists and describes parley.user.v1.UserService", async () => {
  const protoPath = require.resolve("@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto");
  const definition = loadSync(protoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  try {
    const ask = (request: Record<string, string>) =>
      new Promise<ReflectionResponse>((resolve, reject) => {
        const call = (
          client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> }
        ).ServerReflectionInfo();
        call.on("data", (res: ReflectionResponse) => {
          resolve(res);
          call.end();
        });
        call.on("error", reject);
        call.write(request);
      });
    const listed = await ask({ list_services: "" });
    const names = listed.list_services_response?.service.map((s) => s.name) ?? [];
    assert.ok(names.includes("parley.user.v1.UserService"), names.join(", "));

    const described = await ask({ file_containing_symbol: "parley.user.v1.UserService" });
    const files = described.file_descriptor_response?.file_descriptor_proto ?? [];
    assert.ok(files.length > 0, JSON.stringify(described.error_response));
    assert.ok(files.some((f) => Buffer.from(f).includes("parley/user/v1/user.proto")));
  } finally {
    client.close();
  }
});

test("a request that is not valid protobuf is INVALID_ARGUMENT, not INTERNAL", async () => {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = (bytes: Buffer) =>
    new Promise<grpc.ServiceError>((resolve, reject) =>
      client.makeUnaryRequest(
        "/parley.user.v1.UserService/Register",
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (err) => (err ? resolve(err) : reject(new Error("the malformed request was answered"))),
      ),
    );
  try {
    // Field number 0 does not exist: "illegal tag".
    const illegalTag = await call(Buffer.from([0x00, 0x00]));
    assert.equal(illegalTag.code, grpc.status.INVALID_ARGUMENT, illegalTag.details);
    assert.match(illegalTag.details, /not a valid parley\.user\.v1\.RegisterRequest/);
    // email (field 1, a string) holding bytes that are not UTF-8.
    const badUtf8 = await call(Buffer.from([0x0a, 0x02, 0xff, 0xfe]));
    assert.equal(badUtf8.code, grpc.status.INVALID_ARGUMENT, badUtf8.details);
    // A truncated message: field 1 announces 10 bytes and carries 1.
    const truncated = await call(Buffer.from([0x0a, 0x0a, 0x61]));
    assert.equal(truncated.code, grpc.status.INVALID_ARGUMENT, truncated.details);
  } finally {
    client.close();
  }
});
