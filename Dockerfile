# syntax=docker/dockerfile:1
#
# The phase-3 sentiment service (`roadmap serve`) in a container.
#
#   docker build -t roadmap-serve .
#   docker run --rm -p 8000:8000 -v "$(pwd)/model:/model:ro" roadmap-serve
#
# The model is mounted at /model (a directory saved by `roadmap run phase2`:
# model.safetensors, tokenizer.json, metadata.json). To bake it into the image
# instead, copy it to ./model in the build context and build the `with-model` target:
#
#   docker build --target with-model -t roadmap-serve:with-model .
#   docker run --rm -p 8000:8000 roadmap-serve:with-model
#
# Stop with `docker stop` (SIGTERM): in-flight requests finish, then the process exits 0.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# --- build: compile the release binary --------------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin roadmap \
 && strip target/release/roadmap

# --- runtime: the binary alone on slim Debian, as a non-root user ------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# curl only serves the HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin roadmap
COPY --from=build /src/target/release/roadmap /usr/local/bin/roadmap
# Inside a container the service must listen on every interface (the host
# decides what to publish); outside, `roadmap serve` defaults to 127.0.0.1.
ENV ROADMAP_SERVE_ADDR=0.0.0.0:8000 \
    ROADMAP_SERVE_MODEL=/model \
    RUST_LOG=info
USER roadmap
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["roadmap", "serve"]

# --- with-model: the runtime with ./model copied in ---------------------------
FROM runtime AS with-model
# Owned by root: the service user can read the model but not change it.
COPY model/ /model/

# The default target: model mounted at run time.
FROM runtime
