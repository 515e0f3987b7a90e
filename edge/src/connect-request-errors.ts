/**
 * A Connect request whose body is not its request message is the client's
 * error: 400 `invalid_argument` with a stable reason, as REST and gRPC answer.
 * connect-es reads the body before any interceptor or implementation runs and
 * answers bytes that are not protobuf with `internal` ("parse binary: …",
 * 500), malformed JSON with `invalid_argument` but no reason; it has no hook
 * for either. So each Connect handler is wrapped: an error answered before
 * the implementation was reached is the request's, and is rewritten.
 */
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextKey,
  type HandlerContext,
} from "@connectrpc/connect";
import { createAsyncIterable, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { appError } from "@parley/shared/errors.js";

/** Set per request (connectContextValues); the implementation marks it when a call reaches it. */
const reached = createContextKey<{ implementation: boolean } | undefined>(undefined, {
  description: "whether the call reached its implementation",
});

export function withReachedMarker(values: ContextValues): ContextValues {
  return values.set(reached, { implementation: false });
}

/** Called first thing by every implementation: errors from here on are the implementation's. */
export function markReached(ctx: HandlerContext): void {
  const marker = ctx.values.get(reached);
  if (marker) marker.implementation = true;
}

async function bytesOf(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function malformed(handler: UniversalHandler, err: ConnectError, binary: boolean): ConnectError {
  const why = err.rawMessage.replace(/^parse binary: /, "");
  const what = `a valid ${handler.method.input.typeName}${binary ? "" : " in JSON"}`;
  return appError(
    Code.InvalidArgument,
    binary ? "MALFORMED_PROTOBUF" : "MALFORMED_JSON",
    `the body is not ${what} (${why})`,
  );
}

function requestErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const marker = req.contextValues?.get(reached);
    // A Connect unary error is a JSON body with a 4xx/5xx status; gRPC-web answers 200 with a trailer.
    const contentType = res.header?.get("content-type");
    if (res.status < 400 || contentType !== contentTypeUnaryJson || marker?.implementation !== false) return res;
    const bytes = await bytesOf(res.body);
    const err = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown));
    const fromParsing =
      (err.code === Code.Internal && err.rawMessage.startsWith("parse binary: ")) || err.code === Code.InvalidArgument;
    if (!fromParsing) return { ...res, body: createAsyncIterable([bytes]) };
    const binary = /^application\/proto\b/.test(req.header.get("content-type") ?? "");
    const body = errorToJsonBytes(malformed(handler, err, binary), {});
    const header = new Headers(res.header);
    header.set("content-length", String(body.byteLength));
    return { ...res, status: codeToHttpStatus(Code.InvalidArgument), header, body: createAsyncIterable([body]) };
  };
  return Object.assign(wrapped, handler);
}

/**
 * For fastifyConnectPlugin's `jsonOptions`: JSON that is not UTF-8 is refused
 * rather than read with U+FFFD in place of its bad bytes. connect-es reads a
 * `textDecoder` here (its JSON serialization options), which its public type
 * does not list.
 */
export const strictJsonOptions: { ignoreUnknownFields: boolean } = Object.assign(
  { ignoreUnknownFields: true },
  { textDecoder: new TextDecoder("utf-8", { fatal: true }) },
);

/** Wraps every handler the router holds so far (call after registering the services). */
export function answerMalformedRequests(router: ConnectRouter): void {
  router.handlers.forEach((handler, i) => {
    router.handlers[i] = requestErrors(handler);
  });
}
