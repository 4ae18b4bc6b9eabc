"""Inspect API payloads."""

from __future__ import annotations

from pydantic import BaseModel


class RouteInfo(BaseModel):
    route: str
    method: str
    provider_types: list[str]


class RouteList(BaseModel):
    data: list[RouteInfo]


class Health(BaseModel):
    status: str


class Version(BaseModel):
    version: str
