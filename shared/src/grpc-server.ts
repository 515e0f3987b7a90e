/**
 * Serves protobuf-es service descriptors over @grpc/grpc-js, with handlers
 * written against connect-es's typed `ServiceImpl`, plus the ops surface every
 * internal service has: grpc.health.v1 and server reflection fed from the
 * descriptor set `buf build` writes (one schema pipeline).
 *
 * This module only translates between grpc-js and connect-es: what every call
 * goes through (errors, validation, and whatever a service adds) is a chain
 * of connect-es interceptors (server-interceptors.ts).
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  create,
  type DescMethod,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  fromBinary,
  type Message,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  createHandlerContext,
  type HandlerContext,
  type Interceptor,
  type ServiceImpl,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { bufferView } from "./buffer-view.js";
import { createCallMetrics } from "./call-metrics.js";
import type { Component } from "./component.js";
import { appError, internal } from "./errors.js";
import type { Logger } from "./logger.js";
import { encodeMessage } from "./pre-encoded.js";
import { rpcTracing } from "./rpc-tracing.js";
import { mapErrors, validateInput } from "./server-interceptors.js";

const require = createRequire(import.meta.url);

/** parley_grpc_server_handled_total and _handling_seconds, for every service of the process. */
const calls = createCallMetrics("grpc");

/**
 * The caller's address as grpc-js reports it ("127.0.0.1:5000", "::1:5000"),
 * for interceptors: connect's HandlerContext has no peer of its own.
 */
export const grpcPeer = createContextKey<string | undefined>(undefined, { description: "gRPC peer" });

function isStreaming(kind: DescMethod["methodKind"], side: "request" | "response"): boolean {
  return kind === "bidi_streaming" || kind === (side === "request" ? "client_streaming" : "server_streaming");
}

/**
 * A grpc-js ServiceDefinition for serving a protobuf-es descriptor, keyed by
 * localName. Requests reach the handler as their bytes: grpc-js answers a
 * deserializer that throws with INTERNAL, while a malformed request is the
 * caller's error (decodeRequest).
 */
export function serviceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<Uint8Array, Message>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: isStreaming(method.methodKind, "request"),
      responseStream: isStreaming(method.methodKind, "response"),
      requestSerialize: (bytes: Uint8Array) => bufferView(bytes),
      requestDeserialize: (buf: Buffer) => buf,
      responseSerialize: (msg: Message) => bufferView(encodeMessage(method.output, msg)),
      responseDeserialize: (buf: Buffer) => fromBinary(method.output, buf),
      originalName: method.name,
    };
  }
  return def;
}

/**
 * Runs before the interceptors: bytes that are not a message leave nothing for
 * them to see, so the call metrics count these failures here.
 */
function decodeRequest(method: DescMethod, bytes: Uint8Array): Message {
  try {
    return fromBinary(method.input, bytes);
  } catch (err) {
    calls.record(method, Code.InvalidArgument, 0);
    const why = err instanceof Error ? err.message : String(err);
    throw appError(
      Code.InvalidArgument,
      "MALFORMED_PROTOBUF",
      `the request is not a valid ${method.input.typeName} message (${why})`,
    );
  }
}

function metadataToHeaders(md: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(md.getMap())) {
    if (!key.endsWith("-bin")) headers.append(key, String(values));
  }
  return headers;
}

/** The status a (mapped) error leaves with; anything else reaching here is `internal`. */
function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const connectErr = err instanceof ConnectError ? err : internal();
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
  getPeer(): string;
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
    contextValues: createContextValues().set(grpcPeer, call.getPeer()),
    ...(Number.isFinite(deadlineMs) ? { timeoutMs: Math.max(0, deadlineMs - Date.now()) } : {}),
  });
}

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;
type Impl = (req: unknown, ctx: HandlerContext) => unknown;

/** The interceptors around `fn`, the first outermost (as connect-es applies them). */
function chain(interceptors: readonly Interceptor[], fn: AnyFn): AnyFn {
  return interceptors.reduceRight<AnyFn>((next, interceptor) => interceptor(next), fn);
}

/** The context the implementation sees, with what the interceptors left in the request. */
function handlerContext(ctx: CallContext, req: UnaryRequest | StreamRequest): HandlerContext {
  return { ...ctx, requestHeader: req.header, signal: req.signal, values: req.contextValues };
}

function requestCommon(ctx: CallContext, service: DescService) {
  return {
    service,
    requestMethod: ctx.requestMethod,
    url: ctx.url,
    signal: ctx.signal,
    header: ctx.requestHeader,
    contextValues: ctx.values,
  };
}

function responseCommon(ctx: CallContext, service: DescService) {
  return { service, header: ctx.responseHeader, trailer: ctx.responseTrailer };
}

async function single<T>(messages: AsyncIterable<T>): Promise<T> {
  for await (const message of messages) return message;
  throw appError(Code.InvalidArgument, "INVALID_ARGUMENT", "missing request message");
}

async function* mapOutput(method: DescMethod, outputs: AsyncIterable<unknown>): AsyncIterable<Message> {
  for await (const out of outputs) yield create(method.output, out as never);
}

export interface GrpcHandlerOptions {
  logger: Logger;
  /** The service's own interceptors, run inside the ones every service has (errors, validation). */
  interceptors?: readonly Interceptor[];
}

/** grpc-js handlers for a connect-style implementation; every call passes through the interceptors. */
export function grpcHandlers<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  opts: GrpcHandlerOptions,
): grpc.UntypedServiceImplementation {
  // Metrics outermost: they record the code the caller gets, after errors are mapped. Tracing next: the span
  // covers the rest of the call, and what mapErrors logs carries its trace id.
  const interceptors = [
    calls.interceptor,
    ...rpcTracing("server"),
    mapErrors(opts.logger),
    validateInput,
    ...(opts.interceptors ?? []),
  ];
  const handlers: Record<string, grpc.UntypedHandleCall> = {};
  const methods = impl as unknown as Record<string, Impl>;
  for (const method of service.methods) {
    // ServiceImpl's type already demands every method; at run time a missing
    // one answers Unimplemented, as grpc-js does for unknown methods.
    const fn: Impl =
      methods[method.localName] ??
      (() => {
        throw appError(Code.Unimplemented, "UNIMPLEMENTED", `${service.typeName}.${method.name} is not implemented`);
      });
    switch (method.methodKind) {
      case "unary":
        handlers[method.localName] = ((
          call: grpc.ServerUnaryCall<Uint8Array, Message>,
          callback: grpc.sendUnaryData<Message>,
        ) => {
          const ctx = contextFor(service, method, call);
          const run = async () => {
            const invoke = chain(
              interceptors,
              async (req): Promise<UnaryResponse> => ({
                ...responseCommon(ctx, service),
                stream: false,
                method: method as DescMethodUnary,
                message: create(method.output, (await fn(req.message, handlerContext(ctx, req))) as never),
              }),
            );
            const message = decodeRequest(method, call.request);
            const res = await invoke({
              ...requestCommon(ctx, service),
              stream: false,
              method,
              message,
            } as UnaryRequest);
            return res.message as Message;
          };
          run()
            .then(
              (res) => callback(null, res),
              (err: unknown) => callback(toStatus(err)),
            )
            .finally(() => ctx.abort(CALL_ENDED));
        }) satisfies grpc.handleUnaryCall<Uint8Array, Message>;
        break;
      case "server_streaming":
        handlers[method.localName] = ((call: grpc.ServerWritableStream<Uint8Array, Message>) => {
          const ctx = contextFor(service, method, call);
          const run = async () => {
            const invoke = chain(
              interceptors,
              async (req): Promise<StreamResponse> => ({
                ...responseCommon(ctx, service),
                stream: true,
                method: method as DescMethodServerStreaming,
                message: mapOutput(
                  method,
                  fn(
                    await single(req.message as AsyncIterable<Message>),
                    handlerContext(ctx, req),
                  ) as AsyncIterable<unknown>,
                ),
              }),
            );
            const message = decodeRequest(method, call.request);
            const res = await invoke({
              ...requestCommon(ctx, service),
              stream: true,
              method,
              message: (async function* () {
                yield message;
              })(),
            } as StreamRequest);
            for await (const out of res.message as AsyncIterable<Message>) {
              if (!call.write(out)) await once(call, "drain", { signal: ctx.signal });
            }
          };
          run()
            .then(
              () => call.end(),
              (err: unknown) => {
                if (ctx.signal.aborted) return;
                call.emit("error", toStatus(err));
              },
            )
            .finally(() => ctx.abort(CALL_ENDED));
        }) satisfies grpc.handleServerStreamingCall<Uint8Array, Message>;
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

export interface GrpcServer extends Component {
  readonly health: HealthImplementation;
  /**
   * Whether the service can do its work (a dependency it needs may be away).
   * Health reports it from listen() until close(); it starts true.
   */
  setServing(serving: boolean): void;
  /** What health reports for every service right now: listening, serving and not draining. */
  ready(): boolean;
  /** Shutdown has begun (main.ts): health reports NOT_SERVING from now on, so clients and probes go elsewhere. */
  drain(): void;
}

const descriptorSetPath = require.resolve("@parley/proto/descriptor-set");

/** How long close() lets calls in progress finish before it cuts them off. */
const FORCE_SHUTDOWN_AFTER_MS = 3_000;

/** Above the largest request the protos' rules let through (see createGrpcServer). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * A grpc-js server for the given services, grpc.health.v1 (each service and
 * "" report SERVING once listening) and reflection for everything in the
 * descriptor set. It binds on listen().
 */
export function createGrpcServer(opts: { bindings: GrpcServiceBinding[] }): GrpcServer {
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

  let listening = false;
  let serving = true;
  let draining = false;
  const setHealth = (status: "SERVING" | "NOT_SERVING") => {
    health.setStatus("", status);
    for (const b of opts.bindings) health.setStatus(b.service.typeName, status);
  };
  const ready = () => listening && serving && !draining;
  const report = () => setHealth(ready() ? "SERVING" : "NOT_SERVING");

  return {
    health,
    ready,
    drain() {
      draining = true;
      report();
    },
    setServing(value) {
      serving = value;
      report();
    },
    async listen({ host, port }) {
      const bound = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        );
      });
      listening = true;
      report();
      return bound;
    },
    async close() {
      listening = false;
      report();
      await new Promise<void>((resolve) => {
        // Calls still running then (waiting on a server that has gone silent) are cut off. The server is down
        // when forceShutdown returns; tryShutdown's callback may never come after it (it waits for its HTTP/2
        // servers to close, and a connection that never became a session keeps one open), so it is not awaited.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, FORCE_SHUTDOWN_AFTER_MS);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
