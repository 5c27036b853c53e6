# ringsql container image: built on Debian 12, shipped on debian:bookworm-slim with the
# runtime libraries only, running as the non-root user 10001:10001 (numeric, so that
# Kubernetes' runAsNonRoot can verify it). ringsql writes nothing but its log, to stderr: the
# image runs on a read-only root filesystem (docker run --read-only, readOnlyRootFilesystem).
# Under the runtime's default seccomp profile, which blocks io_uring, `io: auto` runs on
# epoll; for io_uring: docker run --security-opt seccomp=deploy/seccomp/ringsql-io-uring.json
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        gcc meson ninja-build pkg-config liburing-dev libmariadb-dev libjemalloc-dev \
        libyaml-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build --buildtype=release -Dprefix=/usr && ninja -C /build cmd/ringsql \
    && install -D -m 0755 /build/cmd/ringsql /out/usr/bin/ringsql

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        liburing2 libmariadb3 libjemalloc2 libyaml-0-2 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ringsql \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ringsql
COPY --from=build /out/ /
COPY examples/ringsql.yaml /etc/ringsql/ringsql.yaml
USER 10001:10001
EXPOSE 6033 9033
# SIGTERM drains (shutdown.drain_timeout, 30s by default): give `docker stop` that long,
# e.g. `docker stop -t 35`; SIGHUP reloads the config (docker kill -s HUP).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/ringsql"]
CMD ["-c", "/etc/ringsql/ringsql.yaml"]
