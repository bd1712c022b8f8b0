# syntax=docker/dockerfile:1
# ztkube's image: `ztkube controller`, `ztkube agent` and `ztkube sidecar` (the entrypoint is the
# ztkube CLI) and the ztkube-cni plugin the agent installs on its node. Built in three stages:
# the static Go plugin, the native addon and the TypeScript, then a slim runtime holding only the
# shared libraries the addon links (test/lib/dockerfile.test.ts checks that against ldd).

FROM golang:1.22-bookworm AS cni
WORKDIR /src/cni
COPY cni/go.mod cni/go.sum ./
RUN go mod download
COPY cni/ ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/ztkube-cni .

FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake ninja-build g++ pkg-config \
      libsodium-dev libssl-dev liblz4-dev libmnl-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY CMakeLists.txt tsconfig.json ./
COPY native native
COPY agent agent
COPY bin bin
COPY examples examples
RUN npx cmake-js compile -G Ninja --parallel 4 \
 && npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsodium23 libssl3 liblz4-1 libmnl0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ztkube
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/bin bin
COPY --from=build /src/examples examples
COPY --from=build /src/dist/agent dist/agent
COPY --from=build /src/build/Release/ztkube.node build/Release/ztkube.node
COPY --from=cni /out/ztkube-cni dist/bin/ztkube-cni
LABEL org.opencontainers.image.title="ztkube" \
      org.opencontainers.image.description="Puts Kubernetes pods on ZeroTier virtual networks" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/ztkube/ztkube"
# The controller runs as this user; the agent's pod runs as root with NET_ADMIN, SYS_ADMIN and
# SYS_PTRACE (TAPs in other pods' network namespaces), as the chart says.
USER 65532:65532
ENTRYPOINT ["node", "/opt/ztkube/bin/ztkube.js"]
