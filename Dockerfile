# syntax=docker/dockerfile:1
# One image for every production role: `api`, `worker`, `migrate` and `tosssim` are
# subcommands of the same binary (cmd/paysaga, which does not link the Temporal server).
#   docker build -t paysaga .
#   docker run --rm paysaga worker -h

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Pure Go: no C toolchain, and the result runs on an image without libc.
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/paysaga ./cmd/paysaga

# distroless/static: CA certificates (for Toss over HTTPS) and time zones, no shell, no
# package manager; "nonroot" is uid 65532. Health checks use `paysaga probe`, not curl.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/paysaga /usr/local/bin/paysaga
USER nonroot:nonroot
# api 8080, worker health and metrics 8081, Toss simulator 8090
EXPOSE 8080 8081 8090
ENTRYPOINT ["/usr/local/bin/paysaga"]
CMD ["api"]
