"""Response envelopes shared by the routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from inspection.models import Role
from inspection.schemas import SensorRead

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


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, e.g. not_found, validation_error, too_many_attempts")
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


class MqttLogin(BaseModel):
    """A sensor's broker login, returned once; only its hash is kept."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    password: str
    client_id: str = Field(description="the device must connect with this client id")
    topic: str = Field(description="the only topic it may publish to")


class SensorWithLogin(SensorRead):
    mqtt: MqttLogin | None = Field(
        default=None,
        description="Set when the sensor got a new broker login (registered, moved, back from "
        "retirement) and this installation manages broker accounts; shown once.",
    )


def json_response(model: BaseModel, *, headers: Mapping[str, str] | None = None) -> Response:
    """``model`` serialized once, as the route's ``response_model`` documents it. For large
    views built from typed rows: returning the model instead makes FastAPI dump it to
    Python objects, validate those again and serialize the result."""
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)
