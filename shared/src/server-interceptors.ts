/**
 * The work every gRPC call of every service goes through, as connect-es
 * interceptors (the same shape connect-es's own servers and clients take):
 * errors mapped, input validated against its proto rules. grpcHandlers puts
 * these first; a service adds its own after them, and cross-cutting work to
 * come (metrics, tracing) attaches here too rather than in each handler.
 */
import { Code, ConnectError, type Interceptor, type StreamRequest } from "@connectrpc/connect";
import { internal } from "./errors.js";
import type { Logger } from "./logger.js";
import { assertValid } from "./validation.js";

/**
 * Anything a handler throws that is not a ConnectError becomes `internal` with
 * a generic message; the cause is logged, never sent. Errors raised while a
 * server stream is being read are mapped the same way.
 */
export function mapErrors(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const mapped = (err: unknown): ConnectError => {
      if (err instanceof ConnectError) return err;
      // A call the client gave up on often ends in whatever its abort caused: nothing to report.
      if (req.signal.aborted) return new ConnectError("call ended", Code.Canceled);
      logger.error({ err, method: req.method.name }, "unexpected error in handler");
      return internal();
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      throw mapped(err);
    }
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
        } catch (err) {
          throw mapped(err);
        }
      })(),
    };
  };
}

/** Every request message checked against its proto's protovalidate rules before the handler sees it. */
export const validateInput: Interceptor = (next) => async (req) => {
  if (!req.stream) {
    assertValid(req.method.input, req.message);
    return next(req);
  }
  const input = req.method.input;
  const messages = req.message;
  const validated: StreamRequest = {
    ...req,
    message: (async function* () {
      for await (const message of messages) {
        assertValid(input, message);
        yield message;
      }
    })(),
  };
  return next(validated);
};
