# One image recipe for every component: docker-compose.yml builds it with
# COMPONENT=edge|user-svc|chat-svc|mail-worker.
FROM node:20-bookworm-slim
ARG COMPONENT
WORKDIR /app
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY shared/package.json shared/
COPY edge/package.json edge/
COPY user-svc/package.json user-svc/
COPY chat-svc/package.json chat-svc/
COPY mail-worker/package.json mail-worker/
# postinstall applies them (patch-package): fixes to dependencies, see README.
COPY patches/ patches/
RUN npm ci --omit=dev --no-audit --no-fund
COPY proto/ proto/
COPY shared/ shared/
COPY ${COMPONENT}/ ${COMPONENT}/
WORKDIR /app/${COMPONENT}
ENV NODE_ENV=production
CMD ["node", "--import", "tsx", "src/main.ts"]
