# scimgate container image.
#
#   docker build -t scimgate .
#   docker run --rm -p 8443:8443 \
#     -v "$PWD/config:/etc/scimgate/config:ro" -v "$PWD/mappings:/etc/scimgate/mappings:ro" \
#     -v scimgate-data:/var/lib/scimgate \
#     -e SCIMGATE__...=... scimgate
#
# Build stage: the same command and flags CI uses (`cargo build --release --locked`), so CI's
# release binary is what this image ships. Runtime stage: distroless (glibc + CA certificates, no
# shell, no package manager), non-root. Health is checked by the binary itself, since there is no
# curl or shell in the image.

FROM rust:1-bookworm AS build
WORKDIR /src

# Dependencies first, against placeholder sources: this layer is rebuilt only when Cargo.toml or
# Cargo.lock change, not on every source edit. The manifest names tests/it/main.rs, so it must exist.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/it \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > tests/it/main.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/scimgate target/release/deps/scimgate-* \
       target/release/deps/libscimgate-* target/release/.fingerprint/scimgate-*

# The real sources. touch: COPY keeps the context's mtimes, which may be older than the placeholder
# build; cargo must see the crate as changed.
COPY src/ src/
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && mkdir -p /out/var/lib/scimgate \
    && cp target/release/scimgate /out/scimgate

FROM gcr.io/distroless/cc-debian12:nonroot

# Where the sources live and which version this is: pass real values from CI
# (docker build --build-arg SOURCE_URL=... --build-arg VERSION=...).
ARG SOURCE_URL=https://github.com/scimgate/scimgate
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="scimgate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Reverse-proxy SCIM 2.0 gateway: Microsoft Entra ID (and any SCIM client) provisions an existing REST user API through a declarative mapping file." \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=build /out/scimgate /usr/local/bin/scimgate
# Baked defaults; mount over either directory to replace them.
COPY mappings/ /etc/scimgate/mappings/
COPY config/ /etc/scimgate/config/
# Writable data directory (the embedded SQLite store); mount a volume here to keep it.
COPY --from=build --chown=65532:65532 /out/var/lib/scimgate /var/lib/scimgate

# Secrets (tokens, backend keys) come from the environment (SCIMGATE__...) or mounted files,
# never from the image.
ENV SCIMGATE_CONFIG=/etc/scimgate/config/scimgate.yaml
WORKDIR /var/lib/scimgate
# 65532 is distroless's "nonroot" user; numeric so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8443

# `scimgate healthcheck` GETs /healthz on the configured listen address and exits 0 or 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/scimgate", "healthcheck"]

# The binary is PID 1: it handles SIGTERM itself (stop accepting, drain, exit).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/scimgate"]
CMD ["serve"]
