/**
 * Serves protobuf-es service descriptors over @grpc/grpc-js, with handlers
 * written against connect-es's typed `ServiceImpl`, plus the ops surface every
 * internal service has: grpc.health.v1 and server reflection fed from the
 * descriptor set `buf build` writes (one schema pipeline).
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { bufferView } from "./buffer-view.js";
import { appError, internal } from "./errors.js";
import type { Logger } from "./logger.js";
import { encodeMessage } from "./pre-encoded.js";
import { validationError } from "./validation.js";

const require = createRequire(import.meta.url);

function isStreaming(kind: DescMethod["methodKind"], side: "request" | "response"): boolean {
  return kind === "bidi_streaming" || kind === (side === "request" ? "client_streaming" : "server_streaming");
}

/** A grpc-js ServiceDefinition derived from a protobuf-es descriptor, keyed by localName. */
export function serviceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: isStreaming(method.methodKind, "request"),
      responseStream: isStreaming(method.methodKind, "response"),
      requestSerialize: (msg: Message) => bufferView(toBinary(method.input, msg)),
      requestDeserialize: (buf: Buffer) => fromBinary(method.input, buf),
      responseSerialize: (msg: Message) => bufferView(encodeMessage(method.output, msg)),
      responseDeserialize: (buf: Buffer) => fromBinary(method.output, buf),
      originalName: method.name,
    };
  }
  return def;
}

function metadataToHeaders(md: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(md.getMap())) {
    if (!key.endsWith("-bin")) headers.append(key, String(values));
  }
  return headers;
}

function toStatus(err: unknown, logger: Logger, method: DescMethod): Partial<grpc.StatusObject> {
  let connectErr: ConnectError;
  if (err instanceof ConnectError) {
    connectErr = err;
  } else {
    logger.error({ err, method: method.name }, "unexpected error in handler");
    connectErr = internal();
  }
  const trailer = new Headers();
  setTrailerStatus(trailer, connectErr);
  const metadata = new grpc.Metadata();
  const details = trailer.get("grpc-status-details-bin");
  if (details) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  return { code: connectErr.code as number as grpc.status, details: connectErr.rawMessage, metadata };
}

interface CallLike {
  metadata: grpc.Metadata;
  getPath(): string;
  getDeadline(): grpc.Deadline;
  on(event: "cancelled", listener: () => void): unknown;
}

type CallContext = ReturnType<typeof createHandlerContext>;

const CALL_CANCELLED = new ConnectError("call cancelled", Code.Canceled);
// The reason the context is aborted with once its call has ended: abort()
// without one builds a DOMException (and its stack) per call.
const CALL_ENDED = new ConnectError("call ended", Code.Canceled);

/** The handler's context; abort() it when the call ends, or its deadline timer outlives the call. */
function contextFor(service: DescService, method: DescMethod, call: CallLike): CallContext {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const cancelled = new AbortController();
  // grpc-js emits "cancelled" after every call, finished or not; one shared
  // reason keeps that from costing an Error per call.
  call.on("cancelled", () => cancelled.abort(CALL_CANCELLED));
  return createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: call.getPath(),
    requestHeader: metadataToHeaders(call.metadata),
    requestSignal: cancelled.signal,
    ...(Number.isFinite(deadlineMs) ? { timeoutMs: Math.max(0, deadlineMs - Date.now()) } : {}),
  });
}

function checkInput(input: DescMessage, request: Message): void {
  const err = validationError(input, request);
  if (err) throw err;
}

/** grpc-js handlers for a connect-style implementation: input validated, errors mapped. */
export function grpcHandlers<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  logger: Logger,
): grpc.UntypedServiceImplementation {
  const handlers: Record<string, grpc.UntypedHandleCall> = {};
  const methods = impl as unknown as Record<string, (req: unknown, ctx: HandlerContext) => unknown>;
  for (const method of service.methods) {
    // ServiceImpl's type already demands every method; at run time a missing
    // one answers Unimplemented, as grpc-js does for unknown methods.
    const fn =
      methods[method.localName] ??
      (() => {
        throw appError(Code.Unimplemented, "UNIMPLEMENTED", `${service.typeName}.${method.name} is not implemented`);
      });
    switch (method.methodKind) {
      case "unary":
        handlers[method.localName] = ((
          call: grpc.ServerUnaryCall<Message, Message>,
          callback: grpc.sendUnaryData<Message>,
        ) => {
          const ctx = contextFor(service, method, call);
          const run = async () => {
            checkInput(method.input, call.request);
            const out = await fn(call.request, ctx);
            return create(method.output, out as never);
          };
          run()
            .then(
              (res) => callback(null, res),
              (err: unknown) => callback(toStatus(err, logger, method)),
            )
            .finally(() => ctx.abort(CALL_ENDED));
        }) satisfies grpc.handleUnaryCall<Message, Message>;
        break;
      case "server_streaming":
        handlers[method.localName] = ((call: grpc.ServerWritableStream<Message, Message>) => {
          const ctx = contextFor(service, method, call);
          const run = async () => {
            checkInput(method.input, call.request);
            const stream = fn(call.request, ctx) as AsyncIterable<unknown>;
            for await (const out of stream) {
              if (!call.write(create(method.output, out as never))) await once(call, "drain", { signal: ctx.signal });
            }
          };
          run()
            .then(
              () => call.end(),
              (err: unknown) => {
                if (ctx.signal.aborted) return;
                call.emit("error", toStatus(err, logger, method));
              },
            )
            .finally(() => ctx.abort(CALL_ENDED));
        }) satisfies grpc.handleServerStreamingCall<Message, Message>;
        break;
      default:
        throw new Error(`${method.methodKind} methods are not supported (${service.typeName}.${method.name})`);
    }
  }
  return handlers;
}

export interface GrpcServiceBinding {
  service: DescService;
  handlers: grpc.UntypedServiceImplementation;
}

export interface StartedGrpcServer {
  readonly port: number;
  readonly health: HealthImplementation;
  close(): Promise<void>;
}

const descriptorSetPath = require.resolve("@parley/proto/descriptor-set");

/** Above the largest request the protos' rules let through (see startGrpcServer). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * Binds a grpc-js server on `host:port` (0 picks a free port) serving the given
 * services, grpc.health.v1 (each service and "" report SERVING once bound),
 * and reflection for everything in the descriptor set.
 */
export async function startGrpcServer(opts: {
  host: string;
  port: number;
  bindings: GrpcServiceBinding[];
  logger: Logger;
}): Promise<StartedGrpcServer> {
  const server = new grpc.Server({
    "grpc.keepalive_permit_without_calls": 1,
    // grpc-js refuses requests over 4 MiB, below what the protos allow: a
    // SendMessages call of 500 items, each up to 4,000 characters (16 KB of
    // UTF-8) and a 4 KB token, is about 10 MiB. Refused by size, every
    // user's send in the edge's batch would fail for one user's long text.
    "grpc.max_receive_message_length": MAX_REQUEST_BYTES,
  });
  for (const { service, handlers } of opts.bindings) server.addService(serviceDefinition(service), handlers);

  const statuses = Object.fromEntries(opts.bindings.map((b) => [b.service.typeName, "NOT_SERVING" as const]));
  const health = new HealthImplementation({ "": "NOT_SERVING", ...statuses });
  health.addToServer(server);

  const descriptors = loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath));
  new ReflectionService(descriptors).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  health.setStatus("", "SERVING");
  for (const b of opts.bindings) health.setStatus(b.service.typeName, "SERVING");

  return {
    port,
    health,
    async close() {
      health.setStatus("", "NOT_SERVING");
      for (const b of opts.bindings) health.setStatus(b.service.typeName, "NOT_SERVING");
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 5_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
