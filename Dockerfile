# stockflow: the API server (default command) or any other stockflow command.
#
#   docker build -t stockflow .
#   docker run --rm -p 8000:8000 -v stockflow-data:/data stockflow           # stockflow serve
#   docker run --rm -v stockflow-data:/data stockflow data generate            # any subcommand
#
# Two stages on the same base. The build stage has the compiler toolchain that
# better-sqlite3 needs and the dev dependencies TypeScript needs; the runtime
# stage receives only dist/, the production node_modules, sql/, models/, bin/
# and package.json. See docs/container.md.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------- build stage
FROM ${NODE_IMAGE} AS build

# better-sqlite3 12 is compiled from source by node-gyp: python3, make and g++.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so that the slow layer (compiling better-sqlite3: ~2.5 min
# on 2 cores) is reused as long as the manifests do not change. .npmrc carries
# onnxruntime-node-install=skip (otherwise onnxruntime-node's install script
# tries to download GPU binaries and fails).
#
# Install scripts: `npm ci --ignore-scripts`, then better-sqlite3's own build
# run explicitly. The one script that must run is better-sqlite3's (it compiles
# the addon); the others (onnxruntime-node's binary download, protobufjs's
# version check) are not needed. Recent npm (11.19 on the dev host, 12 in the
# local stand-in base) blocks dependency install scripts by default while npm 10
# (the official image's) runs them all, so relying on either default would make
# the build depend on the npm version. node-gyp compiles against the headers in
# /usr/local/include/node, which the node image ships (no header download).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && npm run build-release -- --nodedir=/usr/local \
 && test -f build/Release/better_sqlite3.node

# Then the sources (.dockerignore keeps node_modules, dist, data, tests and
# docs out of the context, so editing those does not invalidate this layer).
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p models \
 # onnxruntime-node ships binaries for every platform (~290 MB): keep only this one.
 && arch=$(node -p process.arch) \
 && ort=node_modules/onnxruntime-node/bin/napi-v6 \
 && test -f "$ort/linux/$arch/onnxruntime_binding.node" \
 && find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + \
 # better-sqlite3: keep the compiled addon, drop the SQLite sources and object files.
 && bs=node_modules/better-sqlite3 \
 && test -f "$bs/build/Release/better_sqlite3.node" \
 && find "$bs/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} + \
 && find "$bs/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} + \
 && rm -rf "$bs/deps" "$bs/src" \
 # protobufjs 6 (under onnx-proto) bundles its pbjs/pbts code generator with
 # its own node_modules (~20 MB); stockflow only loads the library.
 && rm -rf node_modules/protobufjs/cli node_modules/.bin/pbjs node_modules/.bin/pbts \
 # source maps are not needed to run.
 && find dist -name '*.map' -delete \
 && node -e "require('/app/node_modules/better-sqlite3')(':memory:').prepare('select 1').get()" \
 && node -e "Promise.all(['onnxruntime-node', 'onnx-proto'].map((m) => import(m))).then(() => console.log('native addons and onnx-proto load'))"

# -------------------------------------------------------------- runtime stage
FROM ${NODE_IMAGE} AS runtime

# ORT_DISABLE_TELEMETRY: onnxruntime 1.29+ on Linux otherwise creates a device
# id and an event store under ~/.cache and tries to upload usage events to
# Microsoft; set before the runtime starts, this turns all of it off.
ENV NODE_ENV=production \
    STOCKFLOW_DATA_DIR=/data \
    ORT_DISABLE_TELEMETRY=1

WORKDIR /app

# First, so that it is cached across code changes: tini (Debian's package,
# ~0.7 MB) as PID 1; `stockflow` on the PATH (for
# `docker exec … stockflow …` and compose commands); and the data directory
# owned by the base image's `node` user (uid 1000), so that a new named volume
# mounted at /data starts out writable by it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && ln -s /app/bin/stockflow /usr/local/bin/stockflow \
 && mkdir -p /data \
 && chown 1000:1000 /data

# Application files are owned by root and read-only for the service user;
# only /data is writable by it.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/sql ./sql
COPY --from=build /app/models ./models
COPY --from=build /app/bin ./bin

USER 1000:1000
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/api/v1/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# PID 1 is tini, which forwards SIGTERM/SIGINT to node and reaps children.
# Node as PID 1 gets no default signal handling from the kernel: a command
# without its own handler (data generate, train, …) would ignore `docker stop`
# and Ctrl-C until SIGKILL. With tini, such commands stop on SIGTERM, and the
# long-running ones (serve, schedule) handle it in-process: serve stops
# accepting, drains in-flight requests, closes its databases and exits 0, and
# tini exits with node's code. `-s` registers tini as a subreaper when it is
# not PID 1 (e.g. under `buildah run`), which silences its warning.
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "/app/bin/stockflow"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
