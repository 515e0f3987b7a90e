import { runGrpcService } from "@parley/shared/service-main.js";
import { topology } from "@parley/shared/topology.js";
import { build } from "./app.js";
import { readConfig } from "./config.js";

await runGrpcService({
  name: "chat-svc",
  readConfig,
  migrations: new URL("../drizzle", import.meta.url),
  build: ({ config, logger, infra }) =>
    build({
      config,
      logger,
      sql: infra.sql,
      redis: infra.redis,
      amqp: infra.amqp,
      topology: topology(config.AMQP_NAMESPACE),
    }),
});
