# syntax=docker/dockerfile:1

# One image serves both services. Its default command starts ingest; gateways run the same image
# with `node --max-semi-space-size=2 --expose-gc dist/services/gateway/src/main.js`.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only packages that have one are telemetry (@scarf/scarf) and two optional
# add-ons (bufferutil, utf-8-validate) that load their bundled prebuilds at run time; package.json's
# "allowScripts" says the same.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
# Everything, not just services/ and libs/: unit specs live beside the code and import test/support,
# and the build compiles them too. .dockerignore keeps the context small.
COPY . .
# The demo page too (esbuild is a dev dependency): the demo stage below serves it.
RUN npm run build && node demo/build.mjs
# The demo server signs Pusher channel auth with the pusher server SDK (a dev dependency of notify):
# installed alone, at the version the lock file pins, for the demo stage only.
RUN --mount=type=cache,target=/root/.npm npm install --prefix /demo-deps --no-save --omit=dev \
      --ignore-scripts --no-audit --no-fund \
      "pusher@$(node -p "require('./package-lock.json').packages['node_modules/pusher'].version")"

# The demo page's server (DEMO ONLY: it signs tokens with the secret it is given), for
# `docker compose up`. Not the last stage, so `docker build .` still builds the production image.
FROM ${NODE_IMAGE} AS demo
WORKDIR /app
COPY --from=build /app/demo/dist ./demo/dist
COPY --from=build /app/scripts/demo-server.mjs ./scripts/demo-server.mjs
COPY --from=build /demo-deps/node_modules ./node_modules
ENV DEMO_NO_BUILD=1 DEMO_HOST=0.0.0.0
USER node
EXPOSE 8001
CMD ["node", "scripts/demo-server.mjs"]

FROM ${NODE_IMAGE} AS production
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# Only what runs; dist/test would drag in test-only imports.
COPY --from=build /app/dist/libs ./dist/libs
COPY --from=build /app/dist/services ./dist/services
# Since containerd 2 a container's soft limit on open files can be 1024, a hard cap on WebSocket
# connections per gateway. Raising the soft limit to the hard one needs no privilege, so the image does
# it itself instead of relying on `ulimits` in compose (Kubernetes has no such setting).
COPY --chmod=0755 <<'EOF_ENTRYPOINT' /usr/local/bin/notify-entrypoint
#!/bin/sh
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$@"
EOF_ENTRYPOINT
USER node
EXPOSE 3000 8080
ENTRYPOINT ["notify-entrypoint"]
CMD ["node", "dist/services/ingest/src/main.js"]
