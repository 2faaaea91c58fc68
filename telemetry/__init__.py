"""Sensor telemetry: MQTT ingestion, validation, fire-risk index, storage and alert evaluation."""
