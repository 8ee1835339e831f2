# fedlog guardian image. Two stages: the toolchain needed to build better-sqlite3 from source (when no
# prebuilt binary matches) stays in the builder and never reaches the runtime image.

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# npm ci runs `prepare`, which compiles src/ to dist/ for the worker threads (the TypeScript compiler is a
# dev dependency); then only the runtime dependencies are kept. The entrypoint runs the sources through tsx.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY --from=build /app/dist ./dist
# One data directory per guardian (config, SQLite log if used, snapshots), owned by the unprivileged user.
# /federation/guardian-<i>: where docker-compose.yml's init service mounts the four guardians' volumes
# (a fresh volume takes the ownership of the directory it is first mounted on).
RUN mkdir -p /data /federation/guardian-0 /federation/guardian-1 /federation/guardian-2 /federation/guardian-3 \
  && chown -R node:node /data /federation
USER node
VOLUME ["/data"]
EXPOSE 8173 8174
ENTRYPOINT ["node_modules/.bin/tsx", "src/cli/main.ts"]
CMD ["run", "--config", "/data/config.json"]
