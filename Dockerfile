# The roadmap services in containers, built from source (multi-stage).
#
# One image, two services (the same binary; each target sets its command, port
# and health check):
#
#   docker build --target sentiment -t roadmap-serve .   # phase 3: `roadmap serve` on :8000 (the default target)
#   docker build --target rag -t roadmap-rag .           # phase 6: `roadmap rag serve` on :8080
#
#   docker run --rm --read-only -p 127.0.0.1:8000:8000 -v "$PWD/model:/model:ro" roadmap-serve
#
# Models are mounted read-only (phase 3: a `roadmap run phase2 --save-model`
# folder at /model; RAG: see deploy/README.md), or baked into a derived image
# with deploy/docker/with-models.Dockerfile. Labels: pass
#   --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) --build-arg SOURCE=<repository URL>
#
# Without a Rust image (no registry), build the binary on the host and use the
# runtime-only path instead: deploy/docker/build.sh (deploy/README.md). Both
# paths share the runtime stages below the marker, word for word
# (.ci/deploy-e2e checks it).

ARG RUST_VERSION=1.95

# --- binary: compile the release binary (the only stage with a compiler) ----
FROM rust:${RUST_VERSION}-slim-bookworm AS binary
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin roadmap \
 && mkdir /out \
 && strip -o /out/roadmap target/release/roadmap

# === runtime (shared with deploy/docker/Dockerfile.runtime from here on) ===
# The runtime's root file system: Debian's slim base, the service user, and
# nothing the binary never uses at run time. The package manager and its
# state (apt, dpkg's database, perl), iconv's gconv modules and the time-zone
# database go (≈ 28 MB; the binary links only libc, libm, libgcc_s and
# libstdc++); bash stays for the HEALTHCHECK. Deleting in a later layer would
# not shrink the image, so the pruned tree is copied into an empty one below.
# To add packages, derive from debian:bookworm-slim, not from this image.
FROM debian:bookworm-slim AS runtime-root
# A fixed uid/gid (10001) so that volume and secret-file permissions can be
# set on the host; the writable folders exist in the image owned by it, so a
# fresh named volume mounted there starts with that owner.
RUN groupadd --system --gid 10001 roadmap \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/roadmap --no-create-home \
      --shell /usr/sbin/nologin roadmap \
 && mkdir -p /var/lib/roadmap /var/cache/roadmap /etc/roadmap /models \
 && chown roadmap:roadmap /var/lib/roadmap /var/cache/roadmap \
 && rm -rf /usr/bin/apt* /usr/lib/apt /usr/lib/x86_64-linux-gnu/libapt-* /etc/apt /var/lib/apt \
      /var/cache/apt /var/cache/debconf /var/lib/dpkg /usr/bin/dpkg* /usr/share/dpkg \
      /usr/bin/perl* /usr/lib/x86_64-linux-gnu/perl-base /usr/share/perl5 \
      /usr/lib/x86_64-linux-gnu/gconv /usr/share/zoneinfo /usr/share/doc /var/log/*

FROM scratch AS runtime
COPY --from=runtime-root / /
ARG VERSION=unknown
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="roadmap" \
      org.opencontainers.image.description="The roadmap binary: phase-3 sentiment service and phase-6 RAG service" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.roadmap.project="roadmap"
COPY --from=binary /out/roadmap /usr/local/bin/roadmap
# Everything the process writes goes to these two folders (volumes when the
# root file system is read-only); nothing else is written.
ENV HOME=/var/lib/roadmap \
    ROADMAP_DATA_DIR=/var/lib/roadmap \
    ROADMAP_DB=/var/lib/roadmap/progress.db \
    ROADMAP_CACHE=/var/cache/roadmap \
    RUST_LOG=info
USER 10001:10001
WORKDIR /var/lib/roadmap
# The probe is bash's /dev/tcp (bash is essential in Debian): 0 extra bytes,
# where curl would add ~10 MB of libraries. It sends one GET /healthz to the
# port in ROADMAP_HEALTH_PORT and passes only on status 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ROADMAP_HEALTH_PORT} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 2 _ code _ <&3 && [ \"$code\" = 200 ]"]
# SIGTERM drains: /readyz turns 503, in-flight requests finish, exit code 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["roadmap"]

# --- rag: the phase-6 RAG service (`roadmap rag serve`) -----------------------
FROM runtime AS rag
# Models: mount them (or bake them in) at these paths.
ENV ROADMAP_HEALTH_PORT=8080 \
    ROADMAP_ALL_MINILM_L6_V2_DIR=/models/all-minilm-l6-v2 \
    ROADMAP_SMOLLM2_135M_INSTRUCT_DIR=/models/smollm2-135m-instruct
EXPOSE 8080
CMD ["rag", "serve", "--addr", "0.0.0.0:8080"]

# --- sentiment: the phase-3 sentiment service (`roadmap serve`), the default ---
FROM runtime AS sentiment
# Inside a container the service must listen on every interface (the host
# decides what to publish); outside, `roadmap serve` defaults to 127.0.0.1.
ENV ROADMAP_HEALTH_PORT=8000 \
    ROADMAP_SERVE_ADDR=0.0.0.0:8000 \
    ROADMAP_SERVE_MODEL=/model
EXPOSE 8000
CMD ["serve"]
