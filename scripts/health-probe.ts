/**
 * A container health check with nothing but node: the slim image has no
 * curl and no grpc_health_probe. `node dist/health-probe.js <url>` exits 0
 * when the component at <url> is healthy, 1 otherwise (with the reason):
 *   http://127.0.0.1:3000/readyz    a 2xx answer
 *   grpc://127.0.0.1:50051          grpc.health.v1 Check("") answers SERVING
 */
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

const TIMEOUT_MS = 3_000;

interface HealthClient extends grpc.Client {
  check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: { status: string }) => void,
  ): void;
}

async function probeGrpc(address: string, serviceName: string): Promise<string | undefined> {
  const Client = grpc.makeGenericClientConstructor(healthService, "grpc.health.v1.Health");
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as HealthClient;
  try {
    const status = await new Promise<string>((resolve, reject) => {
      client.check({ service: serviceName }, { deadline: Date.now() + TIMEOUT_MS }, (err, reply) =>
        err ? reject(err) : resolve(reply?.status ?? "UNKNOWN"),
      );
    });
    return status === "SERVING" ? undefined : `answers ${status}`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.close();
  }
}

async function probeHttp(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? undefined : `answers HTTP ${res.status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Undefined when healthy, else why not. */
function probe(target: string): Promise<string | undefined> {
  const url = new URL(target);
  if (url.protocol === "grpc:") return probeGrpc(url.host, decodeURIComponent(url.pathname.slice(1)));
  if (url.protocol === "http:" || url.protocol === "https:") return probeHttp(target);
  return Promise.resolve(`unsupported scheme ${url.protocol} (use grpc: or http:)`);
}

const target = process.argv[2];
if (!target) {
  process.stderr.write("usage: health-probe <grpc://host:port[/service] | http://host:port/path>\n");
  process.exit(2);
}
const problem = await probe(target);
if (problem) process.stderr.write(`${target}: unhealthy: ${problem}\n`);
process.exit(problem ? 1 : 0);
