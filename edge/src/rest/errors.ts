/**
 * Every REST failure, whether a service's error or one Fastify raised while
 * reading the request, leaves as `{ error: { code, message, reason } }`; a
 * rate limit (429) also says when to come back in Retry-After.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@parley/shared/logger.js";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type AllowedOrigins, allows, corsResponseHeaders } from "../cors.js";
import { codeName, type ErrorBody, errorBody, httpStatus, retryAfterSeconds } from "../http-errors.js";
import { jsonText } from "./codec.js";

function body(code: Code, reason: string, message: string): ErrorBody {
  return { error: { code: codeName(code), message, reason } };
}

/** Errors Fastify raises before a handler runs, by their Fastify code. */
const requestErrors: Record<string, { code: Code; reason: string; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: Code.InvalidArgument,
    reason: "MALFORMED_JSON",
    message: "the body is not valid JSON",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: Code.InvalidArgument,
    reason: "MALFORMED_JSON",
    message: "the JSON body is empty",
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: Code.ResourceExhausted, reason: "PAYLOAD_TOO_LARGE" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: Code.InvalidArgument, reason: "UNSUPPORTED_MEDIA_TYPE" },
};

/**
 * For Fastify's `frameworkErrors` option: what it raises before routing (a
 * path with malformed percent-encoding) takes the same shape as the rest,
 * with the CORS headers the onRequest hook, not reached yet, would have added.
 */
export function frameworkErrors(origins: AllowedOrigins) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    if (allows(origins, req.headers.origin)) reply.headers(corsResponseHeaders(req.headers.origin));
    const badUrl = err.code === "FST_ERR_BAD_URL";
    const message = badUrl ? "the URL's percent-encoding is malformed" : err.message;
    reply.code(400).send(body(Code.InvalidArgument, badUrl ? "BAD_URL" : "BAD_REQUEST", message));
  };
}

/**
 * A bodiless POST or DELETE that still says `content-type: application/json`
 * (as many HTTP clients do by default) is an empty request, `{}`, rather than
 * malformed JSON; a body that is not UTF-8 is refused (jsonText) rather than
 * read with U+FFFD in place of its bad bytes; anything else goes to Fastify's
 * own JSON parser.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body, done) => {
    let text: string;
    try {
      text = jsonText(body as Buffer);
    } catch (err) {
      done(err as ConnectError, undefined);
      return;
    }
    if (text.trim() === "") done(null, {});
    else json(req, text, done);
  });
}

export function installErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: FastifyError | ConnectError, req, reply) => {
    if (err instanceof ConnectError) {
      const status = httpStatus(err.code);
      if (status >= 500) logger.warn({ err: err.rawMessage, code: codeName(err.code), url: req.url }, "request failed");
      const retryAfter = retryAfterSeconds(err);
      if (retryAfter !== undefined) reply.header("retry-after", String(retryAfter));
      return reply.code(status).send(errorBody(err));
    }
    const status = typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      const known = requestErrors[err.code];
      const code = known?.code ?? (status === 404 ? Code.NotFound : Code.InvalidArgument);
      return reply.code(status).send(body(code, known?.reason ?? "BAD_REQUEST", known?.message ?? err.message));
    }
    logger.error({ err, url: req.url }, "unexpected error serving request");
    return reply.code(500).send(body(Code.Internal, "INTERNAL", "internal error"));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0];
    reply.code(404).send(body(Code.NotFound, "ROUTE_NOT_FOUND", `no route for ${req.method} ${path}`));
  });
}
