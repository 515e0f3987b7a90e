import { runGrpcService } from "@parley/shared/service-main.js";
import { build } from "./app.js";
import { readConfig } from "./config.js";

await runGrpcService({
  name: "user-svc",
  readConfig,
  migrations: new URL("../drizzle", import.meta.url),
  build: ({ config, logger, infra }) => build({ config, logger, sql: infra.sql, redis: infra.redis }),
});
