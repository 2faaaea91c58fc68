"""Masking of channel secrets wherever a profile or a URL is shown: the audit log, API
answers and log lines.

Secrets are the ``secret`` of a webhook or DingTalk entry and the values of the query
parameters that authenticate a robot or a link (WeCom ``key=``, DingTalk ``access_token=``
and ``sign=``, ``secret=``, acknowledgement ``token=``); each is replaced by :data:`MASK`, so
a reader sees that a secret is set, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

MASK: Final = "***"
_SECRET_PARAM = re.compile(r"(?i)\b(key|access_token|sign|secret|token)=([^&\s#\"'<>]+)")
_SECRET_FIELDS: Final = frozenset({"secret"})


def mask_text(text: str) -> str:
    """``text`` with the value of every secret query parameter replaced by :data:`MASK`."""
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)


def _mask(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: (MASK if k in _SECRET_FIELDS and v else _mask(v)) for k, v in value.items()}
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def mask_channels(channels: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a channel profile (``User.channels``) with its secrets masked."""
    if channels is None:
        return None
    masked: dict[str, Any] = _mask(channels)
    return masked
