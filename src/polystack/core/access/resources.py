"""What the access policy judges: a resource's type, identifier and owner."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from polystack.apis.datatypes import User


class Action(StrEnum):
    CREATE = "create"
    READ = "read"  # get and list
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ProtectedResource:
    """`type` as in rules' `<type>::<identifier>` scopes; `owner` None for what the run config declares."""

    type: str
    identifier: str
    owner: User | None = None
