"""Response envelopes shared by the routes."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from inspection.models import Role

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results: ``total`` counts all matches, ``items`` holds at most ``limit``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class MeResponse(BaseModel):
    username: str
    display_name: str
    role: Role
    district: str | None
    timezone: str = Field(description="the city's IANA time zone, e.g. Asia/Shanghai")
