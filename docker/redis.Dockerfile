# Redis for the compose demo, from Debian's redis-server package (not the Docker Hub image).
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis -m 0750 /data
# A named volume mounted on /data starts with this directory's owner, so redis can write its AOF.
VOLUME /data
USER redis
EXPOSE 6379
CMD ["redis-server", "/etc/redis/sticky-demo.conf"]
