# Shortcuts for the scripts in scripts/ (which work without make on a fresh Debian machine).

.PHONY: run test services bench lint
run:       ## the whole system on the embedded default
	scripts/run
test:      ## install and start the services, lint, type-check, run every test
	scripts/test
services:  ## install and start PostgreSQL, Mosquitto, InfluxDB and nginx where missing
	bash deploy/dev/services.sh
lint:
	scripts/bootstrap
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports
bench:
	scripts/bootstrap && bash deploy/dev/services.sh && .venv/bin/python bench/run_all.py
