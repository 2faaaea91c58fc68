"""The ``shelterwatch`` command and the wiring of each process it starts (serve, ingest, run,
tick): which parts a process builds, from the settings, in one place."""
