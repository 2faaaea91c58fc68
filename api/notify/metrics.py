"""Prometheus metrics of notification delivery, in the registry of the process that delivers
(``/metrics`` of ``shelterwatch serve``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

NO_CHANNEL = "none"
"""The channel label of a notification that had no channel to go by (undeliverable)."""


class NotifyMetrics:
    """``shelterwatch_notifications_total{channel, outcome}``: one count per delivery attempt
    by its outcome (``delivered``, ``retrying``, ``dead``), and per notification found
    ``undeliverable`` (channel ``none``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "shelterwatch_notifications",
            "delivery attempts by channel and outcome; notifications no channel can carry "
            "as channel none, outcome undeliverable",
            ["channel", "outcome"],
            registry=registry,
        )

    def count(self, channel: str, outcome: str, n: int = 1) -> None:
        if n:
            self.outcomes.labels(channel=channel, outcome=outcome).inc(n)
