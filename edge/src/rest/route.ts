/**
 * The REST route table: each route says, as data, which service method it
 * calls and how the request message is assembled from the path, the query
 * and the JSON body. Fastify is fed from it (addRoutes), and so is the
 * OpenAPI document (openapi/document.ts), so the two cannot drift apart:
 * the request and response schemas come from the method's protobuf messages.
 */
import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import { callOptions, decode, editObject, enumAlias, render } from "./codec.js";

export type RestMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Who may call: an access token, anyone, or the web app's session cookie (with its CSRF proof). */
export type RestAuth = "bearer" | "none" | "web-session";

/** What the route answers with, when it is not the method's response message as toJson renders it. */
export type RestResponse =
  | { kind: "message"; message: DescMessage; omit?: readonly string[] }
  | { kind: "document"; contentType: string; description: string };

export interface RestRoute {
  method: RestMethod;
  /** Fastify's syntax: `/api/chats/rooms/:id`. */
  path: string;
  summary: string;
  auth: RestAuth;
  /** The service method: its input is the request, its output the response (its comment the description). */
  rpc?: DescMethodUnary;
  /** Path parameter → the request field (JSON name) it fills. */
  params?: Readonly<Record<string, string>>;
  /** Query parameter → the request field (JSON name) it fills. */
  query?: Readonly<Record<string, string>>;
  /** Whether the JSON body fills the request's other fields; without it the body is ignored. */
  body?: boolean;
  /** Body keys taken as another field's JSON name (the seed's `message` for `text`). */
  aliases?: Readonly<Record<string, string>>;
  /** Whether the request must carry the web app's CSRF proof (`x-parley-csrf: 1`, see web/csrf.ts). */
  csrf?: boolean;
  /** Success statuses, the usual one first. */
  statuses: readonly number[];
  /** Defaults to the rpc's output message. */
  response?: RestResponse;
  operationId?: string;
  handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/** The request fields the route fills from somewhere other than the body. */
export function fieldsOutsideBody(route: Pick<RestRoute, "params" | "query">): Set<string> {
  return new Set([...Object.values(route.params ?? {}), ...Object.values(route.query ?? {})]);
}

/**
 * Short enum names ("public" for ROOM_VISIBILITY_PUBLIC) are accepted for every
 * enum field of the request message: the prefix is what all of an enum's
 * value names share, by the proto style guide.
 */
export function enumPrefixes(schema: DescMessage): Map<string, string> {
  const prefixes = new Map<string, string>();
  for (const field of schema.fields) {
    if (field.fieldKind !== "enum") continue;
    const first = field.enum.values[0];
    if (first === undefined) continue;
    prefixes.set(field.jsonName, first.name.slice(0, first.name.length - first.localName.length));
  }
  return prefixes;
}

/** A JSON object body with short enum names made full ones; anything else is left for decode() to reject. */
export function withFullEnumNames(schema: DescMessage, body: unknown): unknown {
  const enums = enumPrefixes(schema);
  return editObject(body, (b) => {
    for (const [field, prefix] of enums) if (b[field] !== undefined) b[field] = enumAlias(b[field], prefix);
  });
}

type Unary<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  options: CallOptions,
) => Promise<MessageShape<O>>;

/** The client's function for `rpc`, looked up once when the table is built. */
function clientMethod<I extends DescMessage, O extends DescMessage>(
  client: object,
  rpc: DescMethodUnary<I, O>,
): Unary<I, O> {
  const fn: unknown = (client as Record<string, unknown>)[rpc.localName];
  if (typeof fn !== "function") throw new Error(`the client has no method ${rpc.localName}`);
  // A connect-es Client's unary method for `rpc` has exactly this signature.
  return (fn as Unary<I, O>).bind(client);
}

type ForwardSpec<I extends DescMessage, O extends DescMessage> = Omit<RestRoute, "rpc" | "handler"> & {
  rpc: DescMethodUnary<I, O>;
  /** The success status for this answer, when it depends on it (OpenDirectRoom: 201 only if created). */
  status?: (res: MessageShape<O>) => number;
};

/**
 * A route that is exactly one call: the request message from path, query and
 * body as the spec says, the response rendered as protobuf JSON.
 */
export function forward<I extends DescMessage, O extends DescMessage>(
  client: object,
  spec: ForwardSpec<I, O>,
): RestRoute {
  const { status, ...route } = spec;
  const call = clientMethod(client, spec.rpc);
  const params = Object.entries(spec.params ?? {});
  const query = Object.entries(spec.query ?? {});
  const aliases = Object.entries(spec.aliases ?? {});
  const usual = spec.statuses[0] ?? 200;
  return {
    ...route,
    async handler(req, reply) {
      const json = editObject(spec.body ? (req.body ?? {}) : {}, (b) => {
        for (const [alias, field] of aliases) {
          if (b[field] === undefined && b[alias] !== undefined) b[field] = b[alias];
          delete b[alias];
        }
        const fromQuery = req.query as Record<string, string | undefined>;
        for (const [name, field] of query) if (fromQuery[name] !== undefined) b[field] = fromQuery[name];
        // The path wins over the body.
        const fromPath = req.params as Record<string, string>;
        for (const [name, field] of params) b[field] = fromPath[name];
      });
      const res = await call(decode(spec.rpc.input, withFullEnumNames(spec.rpc.input, json)), callOptions(req));
      return reply.code(status ? status(res) : usual).send(render(spec.rpc.output, res));
    },
  };
}

/** Registers every route of the table on `app`. */
export function addRoutes(app: FastifyInstance, routes: readonly RestRoute[]): void {
  for (const route of routes) {
    app.route({ method: route.method as HTTPMethods, url: route.path, handler: route.handler });
  }
}
