# syntax=docker/dockerfile:1
# One image for every production role: `api`, `worker` and `migrate` are subcommands of
# the same binary (cmd/paysaga, which links neither the Temporal server nor the simulator).
#   docker build -t paysaga .
#   docker run --rm paysaga worker -h
# The tooling has an image of its own, the `dev` target: paysaga-dev (the Toss simulator of
# compose's dev profile, the chaos run) beside paysaga, whose `probe` checks its health.
#   docker build --target dev -t paysaga-dev .

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Pure Go: no C toolchain, and the result runs on an image without libc.
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/paysaga ./cmd/paysaga

FROM build AS build-dev
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/paysaga-dev ./cmd/paysaga-dev

FROM gcr.io/distroless/static-debian12:nonroot AS dev
COPY --from=build /out/paysaga /usr/local/bin/paysaga
COPY --from=build-dev /out/paysaga-dev /usr/local/bin/paysaga-dev
USER nonroot:nonroot
EXPOSE 8090
ENTRYPOINT ["/usr/local/bin/paysaga-dev"]
CMD ["tosssim"]

# The production image; the last stage, so that a plain `docker build` makes it.
# distroless/static: CA certificates (for Toss over HTTPS) and time zones, no shell, no
# package manager; "nonroot" is uid 65532. Health checks use `paysaga probe`, not curl.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/paysaga /usr/local/bin/paysaga
USER nonroot:nonroot
# api 8080, worker health and metrics 8081
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/paysaga"]
CMD ["api"]
