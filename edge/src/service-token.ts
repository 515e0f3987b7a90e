/** The edge's own identity towards chat-svc (StreamEvents, SetPresence, SendMessages). */
import { type ServiceTokenSource, createServiceTokenSource as sourceFor } from "@parley/shared/service-token.js";

export type { ServiceTokenSource };

export function createServiceTokenSource(secret: string): ServiceTokenSource {
  return sourceFor("edge", secret);
}
