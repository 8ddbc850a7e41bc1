# HAProxy for the compose demo, from Debian's haproxy package (2.6 on bookworm). socat is there to
# talk to the admin socket: docker compose exec haproxy-a socat stdio /run/haproxy/admin.sock
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy socat \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o haproxy -g haproxy -m 0750 /run/haproxy
USER haproxy
EXPOSE 8080
# SIGUSR1 = soft stop: finish the requests in flight, then exit.
STOPSIGNAL SIGUSR1
ENTRYPOINT ["haproxy", "-db"]
CMD ["-f", "/etc/haproxy/haproxy.cfg"]
