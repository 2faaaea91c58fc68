"""HTTP API, CLI and process wiring: the one place where inspection and telemetry meet."""
