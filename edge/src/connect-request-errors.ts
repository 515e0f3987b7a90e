/**
 * A Connect or gRPC-web request whose body is not its request message is the
 * client's error: `invalid_argument` (400 over Connect) with a stable reason,
 * as REST and gRPC answer. connect-es reads the body before any interceptor
 * or implementation runs and answers bytes that are not protobuf with
 * `internal` ("parse binary: …", 500), malformed JSON with `invalid_argument`
 * but no reason; it has no hook for either. So each handler is wrapped: an
 * error answered before the implementation was reached is the request's, and
 * is rewritten.
 */
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextKey,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
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

/** Whether an error answered before the implementation was reached came from reading the body. */
function fromParsing(err: ConnectError): boolean {
  return (
    (err.code === Code.Internal && err.rawMessage.startsWith("parse binary: ")) || err.code === Code.InvalidArgument
  );
}

/** A Connect unary error is a JSON body with a 4xx/5xx status. */
async function connectAnswer(
  handler: UniversalHandler,
  req: UniversalServerRequest,
  res: UniversalServerResponse,
): Promise<UniversalServerResponse> {
  const bytes = await bytesOf(res.body);
  const err = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown));
  if (!fromParsing(err)) return { ...res, body: createAsyncIterable([bytes]) };
  const binary = /^application\/proto\b/.test(req.header.get("content-type") ?? "");
  const body = errorToJsonBytes(malformed(handler, err, binary), {});
  const header = new Headers(res.header);
  header.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(Code.InvalidArgument), header, body: createAsyncIterable([body]) };
}

/** A gRPC-web call that failed before its implementation answers 200 with its trailer as the only envelope. */
function grpcWebAnswer(handler: UniversalHandler, contentType: string, bytes: Uint8Array): Uint8Array | undefined {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const onlyTrailer =
    view.byteLength >= 5 && (view.readUInt8(0) & trailerFlag) !== 0 && view.readUInt32BE(1) === view.byteLength - 5;
  if (!onlyTrailer) return undefined;
  const err = findTrailerError(trailerParse(bytes.subarray(5)));
  if (!err || !fromParsing(err)) return undefined;
  const trailer = new Headers();
  setTrailerStatus(trailer, malformed(handler, err, !contentType.includes("json")));
  return encodeEnvelope(trailerFlag, trailerSerialize(trailer));
}

function requestErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const marker = req.contextValues?.get(reached);
    const contentType = res.header?.get("content-type") ?? "";
    if (!marker) return res;
    if (contentType === contentTypeUnaryJson) {
      return res.status >= 400 && !marker.implementation ? connectAnswer(handler, req, res) : res;
    }
    if (!contentType.startsWith("application/grpc-web")) return res;
    // The call runs as its body is read; every method served here is unary, so the answer is small.
    const bytes = await bytesOf(res.body);
    const rewritten = marker.implementation ? undefined : grpcWebAnswer(handler, contentType, bytes);
    return { ...res, body: createAsyncIterable([rewritten ?? bytes]) };
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
