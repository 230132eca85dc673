# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run on a slim Debian as a
# non-root user. Build: docker build -t azth .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p azth \
 && strip target/release/azth

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/azth --create-home azth
COPY --from=build /src/target/release/azth /usr/local/bin/azth
USER azth
WORKDIR /var/lib/azth
ENV AZTH_LISTEN=0.0.0.0:8080 \
    AZTH_DATA_DIR=/var/lib/azth \
    AZTH_LOG=info
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/azth"]
CMD ["serve"]
