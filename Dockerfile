# One image for every TRM service; the compose file picks the entry point.
# Node 24, the current LTS (Node 20 reached its end of life in April 2026). Development and CI run
# Node 20 here; the image is not built on this machine (no Docker engine).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY services ./services
COPY apps ./apps
# The development token command stays out of the image (removed here, so no layer of the final
# image holds it); with NODE_ENV=production a host refuses the development key and demo data anyway.
RUN npm ci --no-audit --no-fund && npx tsc -b && npm prune --omit=dev \
 && rm -f apps/trm/src/token.ts apps/trm/dist/token.* \
 && npm pkg delete scripts.token

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
COPY migrations ./migrations
USER node
