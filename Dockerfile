# syntax=docker/dockerfile:1
#
# docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) -t lcwnotify .
#
# A static binary on distroless: no shell, no package manager, runs as uid 65532.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
# Dependencies first, so that a change in the code reuses the downloaded modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/lcwnotify ./cmd/lcwnotify \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lcwnotify /lcwnotify
# The embedded NATS server's store. Owned by nonroot so that a fresh named volume, which
# Docker seeds from the image, is writable.
COPY --from=build --chown=65532:65532 /out/data /data
ENV LCW_DATA_DIR=/data
VOLUME /data
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/lcwnotify"]
CMD ["run"]
