"""Integration tests against the real PostgreSQL, Mosquitto and InfluxDB."""
