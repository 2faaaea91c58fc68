"""Judging stored rejects again, once their cause is fixed (a sensor registered late, a
limit changed): the same validation as live messages, then the reading store.

Each reject row is taken as the message it keeps: its topic, its raw text as the payload, its
arrival time as the time it was received (so a timestamp that was in the future or past
retention then still is). Rows that keep the same message (one ``unknown_sensor`` row per
reading of a message; the raw text is the whole payload) are judged once together. A group
whose message now gives readings is re-ingested: the readings go to the store, which keys
them by sensor and measurement time, so however often a row is judged again its readings
are stored once. A group that gives none keeps its rows, with the reason it is refused for
now (a row of one array element keeps that element alone, so it is judged alone). A row
whose raw text was cut at the reject store's limit no longer parses and stays refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from telemetry.instants import to_ms
from telemetry.intake import Delivery
from telemetry.ports import ReadingStore, StoredReject
from telemetry.readings import Reading, Rejection
from telemetry.validation import Validator


@dataclass(slots=True)
class Rejudged:
    """What judging a page of rejects again came to."""

    readings: list[Reading] = field(default_factory=list)
    """Stored; in the order of their rows."""
    reingested: list[int] = field(default_factory=list)
    """Ids of the rows whose message now gives readings."""
    still: list[tuple[int, str, str]] = field(default_factory=list)
    """(id, reason, detail) of the rows still refused."""


def rejudge(rows: Sequence[StoredReject], validator: Validator) -> Rejudged:
    """Validate the messages of ``rows`` again (pure apart from the validator's directory)."""
    groups: dict[tuple[str, str, int, int | None], list[StoredReject]] = {}
    for row in rows:
        key = (row.topic, row.raw, to_ms(row.received_at), row.batch_index)
        groups.setdefault(key, []).append(row)
    out = Rejudged()
    for members in groups.values():
        first = members[0]
        delivery = Delivery(first.topic, first.raw.encode(), 0, 0, 0, first.received_at)
        readings, rejects = validator.validate([delivery])
        ids = [row.id for row in members]
        if readings:
            out.readings.extend(readings)
            out.reingested.extend(ids)
            continue
        reason, detail = _why(rejects, first)
        out.still.extend((i, reason, detail) for i in ids)
    return out


def reingest(rows: Sequence[StoredReject], validator: Validator, store: ReadingStore) -> Rejudged:
    """`rejudge`, then write the readings; raises what the store's ``write`` raises (and
    then nothing is to be marked)."""
    judged = rejudge(rows, validator)
    store.write(judged.readings)
    return judged


def _why(rejects: Sequence[Rejection], row: StoredReject) -> tuple[str, str]:
    """The reason a row is refused for now: of its message as a whole (or its sensor's
    placement) rather than of another element of the same array."""
    if not rejects:  # cannot happen: a message gives readings or rejects
        return row.reason, row.detail
    whole = [r for r in rejects if r.index is None]
    chosen = (whole or list(rejects))[0]
    return chosen.reason.value, chosen.detail
