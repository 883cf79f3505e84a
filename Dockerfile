# syntax=docker/dockerfile:1
#
# Production images of the Égide services: one image per service, selected
# with the SERVICE build argument, all built from the same cached builder stage.
#
#   docker build --build-arg SERVICE=egide-gateway   -t ghcr.io/egide/egide-gateway:0.1.0 .
#   docker build --build-arg SERVICE=egide-enrolment -t ghcr.io/egide/egide-enrolment:0.1.0 .
#   ... (egide-auth, egide-certval, egide-billing, egide-audit)
#
# The image name pattern <repository>-<service> is what the Helm chart expects
# (image.repository=ghcr.io/egide/egide). Each image holds its service binary
# (entrypoint /usr/local/bin/egide-service -> egide-<service>) plus the `egide`
# CLI, runs as uid 65532 on distroless/cc (glibc, CA certificates, no shell)
# and needs no writable filesystem.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ------------------------------------------------------------------ builder
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
COPY . .
# Cargo registry, git checkouts and target/ are BuildKit cache mounts (shared by
# the six image builds, kept across builds); binaries are copied out to /out
# since cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
        --bin egide \
        --bin egide-gateway \
        --bin egide-enrolment \
        --bin egide-auth \
        --bin egide-certval \
        --bin egide-billing \
        --bin egide-audit \
 && mkdir -p /out \
 && cp target/release/egide target/release/egide-gateway target/release/egide-enrolment \
       target/release/egide-auth target/release/egide-certval target/release/egide-billing \
       target/release/egide-audit /out/

# ------------------------------------------------------------------ select
# Lays out the runtime filesystem of the chosen service under /rootfs.
FROM builder AS select
ARG SERVICE
RUN case "${SERVICE}" in \
      egide-gateway|egide-enrolment|egide-auth|egide-certval|egide-billing|egide-audit) ;; \
      *) echo "build arg SERVICE must be one of egide-gateway, egide-enrolment, egide-auth," \
              "egide-certval, egide-billing, egide-audit (got '${SERVICE}')" >&2; exit 1 ;; \
    esac \
 && install -D -m 0755 "/out/${SERVICE}" "/rootfs/usr/local/bin/${SERVICE}" \
 && install -D -m 0755 /out/egide /rootfs/usr/local/bin/egide \
 && ln -s "${SERVICE}" /rootfs/usr/local/bin/egide-service

# ------------------------------------------------------------------ runtime
FROM ${RUNTIME_IMAGE} AS runtime
ARG SERVICE
ARG VERSION=0.1.0
COPY --from=select /rootfs/ /
LABEL org.opencontainers.image.title="${SERVICE}" \
      org.opencontainers.image.description="Égide ${SERVICE} service" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
USER 65532:65532
# Backends: gRPC 50051. Gateway: TLS gRPC 8443, HTTP (health, metrics) 8080.
EXPOSE 50051 8443 8080
ENTRYPOINT ["/usr/local/bin/egide-service"]
