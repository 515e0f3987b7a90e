# One recipe for every component, built with COMPONENT=edge|user-svc|chat-svc|mail-worker
# (docker-compose.yml and the Kubernetes manifests do):
#   docker build --build-arg COMPONENT=edge -t parley-edge .
# The build stage bundles the TypeScript to plain JavaScript (`npm run build`) and builds the
# web app; the runtime stage has production dependencies only and runs `node dist/main.js`
# as the unprivileged `node` user. Every image also holds `node /app/dist/migrate.js` (the
# migration Job) and `node /app/dist/health-probe.js` (its HEALTHCHECK).
# Node 24 is the LTS release supported longest; the bundles target Node 20.19 as well.
ARG NODE_IMAGE=node:24-bookworm-slim

# Only the package manifests, so the dependency layers below are rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o \( -name package.json -o -name package-lock.json \) -print \
    | xargs cp --parents -t /manifests

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
# postinstall applies them (patch-package): fixes to dependencies, see README.
COPY patches/ patches/
# `npm install` as .ci/run does: the lockfile lacks some optional platform binaries npm ci insists on.
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm run build -w web

FROM ${NODE_IMAGE} AS runtime
ARG COMPONENT
# What the HEALTHCHECK asks, on the component's default port; also refuses an unknown COMPONENT.
RUN case "${COMPONENT}" in \
      edge) url=http://127.0.0.1:3000/readyz ;; \
      mail-worker) url=http://127.0.0.1:3003/readyz ;; \
      user-svc) url=grpc://127.0.0.1:50051 ;; \
      chat-svc) url=grpc://127.0.0.1:50052 ;; \
      *) echo "COMPONENT must be edge, user-svc, chat-svc or mail-worker (got '${COMPONENT}')" >&2; exit 1 ;; \
    esac \
 && mkdir -p /app && echo "$url" > /app/health-url
WORKDIR /app
ENV NODE_ENV=production
COPY --from=manifests /manifests/ ./
COPY patches/ patches/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Read beside the bundles at run time (see scripts/build.ts): the descriptor set (gRPC reflection),
# every service's migrations (dist/migrate.js migrates any of them), the mail templates, the API reference page,
# the web app.
COPY proto/gen/parley.binpb proto/gen/
COPY user-svc/drizzle/ user-svc/drizzle/
COPY chat-svc/drizzle/ chat-svc/drizzle/
COPY mail-worker/drizzle/ mail-worker/drizzle/
COPY mail-worker/src/templates/*.hbs mail-worker/src/templates/
COPY edge/src/openapi/docs-page/ edge/src/openapi/docs-page/
COPY --from=build /app/web/dist/ web/dist/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/${COMPONENT}/dist/ ${COMPONENT}/dist/
USER node
WORKDIR /app/${COMPONENT}
# Compose and Kubernetes set their own checks; this one serves a plain `docker run`.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD node /app/dist/health-probe.js "$(cat /app/health-url)"
# The tracing preload (dist/tracing/register.js) starts OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT
# is set and does nothing otherwise; it must load before the component's modules.
CMD ["node", "--enable-source-maps", "--import", "/app/dist/tracing/register.js", "dist/main.js"]
