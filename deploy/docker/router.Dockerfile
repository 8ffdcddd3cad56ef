# syntax=docker/dockerfile:1
# The Switchyard router image. Build from the repository root:
#   docker build -f deploy/docker/router.Dockerfile -t switchyard/router:latest .
# Stage 1 installs production dependencies (native addons compile here, with the toolchain of the full image); stage
# 2 compiles the TypeScript with the dev dependencies (`npm run build` → dist/); the last stage is distroless: node,
# the production dependencies and dist/ only — no shell, no package manager, no TypeScript, runs as uid 65532.
ARG NODE_MAJOR=20

FROM node:${NODE_MAJOR}-bookworm AS deps
WORKDIR /app
# onnxruntime-node's postinstall would download CUDA libraries; its CPU binaries ship in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:${NODE_MAJOR}-bookworm AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY core ./core
COPY models ./models
COPY router ./router
COPY retrieval ./retrieval
COPY deploy ./deploy
COPY benchmarks ./benchmarks
COPY evals ./evals
RUN npm run build

FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps --chown=65532:65532 /app/node_modules ./node_modules
COPY --from=build --chown=65532:65532 /app/package.json ./
COPY --from=build --chown=65532:65532 /app/dist ./dist
USER 65532:65532
EXPOSE 8080
# V8 flags of router/node-flags.ts (a test keeps them equal): the young generation pinned at 16 MiB per semi-space,
# whatever the container's memory limit, and the old generation grown by 30 % between full collections, which keeps
# a busy router's promoted in-flight garbage from doubling its RSS (router/README.md, "Tuning").
# node itself is PID 1 (no npm or shell wrapper), so SIGTERM reaches the router's own shutdown.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "--heap-growing-percent=30", "dist/bin/main.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
