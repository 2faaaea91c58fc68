#!/bin/sh
# Start Mosquitto with the shipped configuration (deploy/mosquitto/shelterwatch.conf) in the
# compose broker container. On the first start the dynamic-security plugin's file does not
# exist yet: create it with the admin account `shelterwatch-admin` and MQTT_ADMIN_PASSWORD
# (the `setup` service then adds the system's roles with `shelterwatch broker setup`).
set -eu
state=/var/lib/mosquitto/dynamic-security.json
if [ ! -f "$state" ]; then
    : "${MQTT_ADMIN_PASSWORD:?set MQTT_ADMIN_PASSWORD}"
    mosquitto_ctrl dynsec init "$state" shelterwatch-admin "$MQTT_ADMIN_PASSWORD"
fi
chown -R mosquitto: /var/lib/mosquitto /var/log/mosquitto /run/mosquitto
exec mosquitto -c /etc/mosquitto/mosquitto.conf
