# Mosquitto for compose.yaml: Debian 12's package, so that the shipped configuration
# (deploy/mosquitto/shelterwatch.conf, installed unchanged) finds the dynamic-security plugin,
# the persistence directory, the pid file and the log where Debian puts them.
FROM debian:12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends mosquitto mosquitto-clients \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o mosquitto -g mosquitto /run/mosquitto /var/log/mosquitto /var/lib/mosquitto
COPY deploy/mosquitto/shelterwatch.conf /etc/mosquitto/mosquitto.conf
COPY deploy/container/mosquitto-entrypoint.sh /usr/local/bin/mosquitto-entrypoint
EXPOSE 1883
ENTRYPOINT ["/usr/local/bin/mosquitto-entrypoint"]
