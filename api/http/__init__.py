"""Everything HTTP: the routes under /api/v1, request dependencies and authentication, the
error mapping, the joined views and the platform feed's shapes, health probes and uploads."""
