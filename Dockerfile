# Both binaries (neuro-deploy, neuro-deploy-codefresh) on a slim runtime with CA certificates, as a
# non-root user. Built with the toolchain this repository builds with (rust-version 1.95, pinned
# here: no rust-toolchain.toml). No ENTRYPOINT: Codefresh freestyle steps run their `commands` in
# this image (`exec neuro-deploy-codefresh …`).
#
#   docker build --build-arg NEURO_DEPLOY_GIT_COMMIT="$(git rev-parse --short=12 HEAD)" \
#     -t example-org/neuro-deploy:0.1.0 .
FROM rust:1.95.0-slim-bookworm AS build
# The TLS stack (aws-lc) builds with cmake and clang.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake clang pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The build context has no .git: --version names the commit given here.
ARG NEURO_DEPLOY_GIT_COMMIT=unknown
ENV NEURO_DEPLOY_GIT_COMMIT=${NEURO_DEPLOY_GIT_COMMIT}
RUN cargo build --release --locked -p neuro-deploy-cli --bin neuro-deploy --bin neuro-deploy-codefresh

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home neuro-deploy
COPY --from=build /src/target/release/neuro-deploy /src/target/release/neuro-deploy-codefresh /usr/local/bin/
USER 10001
WORKDIR /home/neuro-deploy
CMD ["neuro-deploy", "--help"]
