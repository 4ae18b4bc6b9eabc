"""Access control inside the SQL store: which rows of an owned table the caller may read, change or delete.

Every operation on a table declared `owned=True` consults the RequestContext's principal and policy
here, so stores built on SQLStore (chat completions, files, vector stores, and those to come) never
check owners themselves. Reads are filtered in the query: the default policy as an owner filter, custom
rules as the expression policy_sql.py makes of them. Writes are judged on the rows they touch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from polystack.apis.datatypes import User
from polystack.apis.errors import AccessDeniedError
from polystack.core.access.policy import SYSTEM_PRINCIPAL, AccessPolicy
from polystack.core.access.resources import Action, ProtectedResource
from polystack.core.audit import log as audit
from polystack.core.request_context import request_context
from polystack.core.storage.sql.policy_sql import readable_clause
from polystack.core.storage.sql.schema import OWNER_ATTRIBUTES, OWNER_PRINCIPAL, RESOURCE_TYPE

# A row as a dict or as SQLAlchemy's RowMapping (keyed by column name or Column object).
Row = Mapping[Any, Any]


@dataclass(frozen=True, slots=True)
class Guard:
    """The caller's principal and policy over one owned table (`resource_type`, keyed by `key`)."""

    user: User
    policy: AccessPolicy
    resource_type: str
    key: str

    def resource(self, row: Row) -> ProtectedResource:
        principal = row.get(OWNER_PRINCIPAL)
        owner = User(principal=principal, attributes=row.get(OWNER_ATTRIBUTES) or {}) if principal else None
        return ProtectedResource(self.resource_type, str(row.get(self.key)), owner)

    def allows(self, action: Action, row: Row) -> bool:
        return self.policy.allows(action, self.resource(row), self.user)

    def clause(self, table: sa.Table, dialect: str) -> ColumnElement[bool]:
        """The read filter as SQL: the default policy's (own rows and unowned ones), or the rules'."""
        if not self.policy.default:
            return readable_clause(self.policy, self.user, table, self.resource_type, self.key, dialect)
        owner = table.c[OWNER_PRINCIPAL]
        return sa.or_(owner == self.user.principal, owner.is_(None))

    def check(self, action: Action, rows: Iterable[Row]) -> None:
        """AccessDeniedError (403) unless `action` is allowed on every row (which the caller can read)."""
        for row in rows:
            if not self.allows(action, row):
                audit.record(action.value, self.resource_type, str(row.get(self.key)), "denied")
                raise AccessDeniedError(f"'{self.user.principal}' may not {action.value} "
                                        f"{self.resource_type} '{row.get(self.key)}'")
            if action is not Action.READ:
                audit.record(action.value, self.resource_type, str(row.get(self.key)), "allowed")


def guard_for(table: sa.Table) -> Guard | None:
    """The guard of an owned table for the current caller; None when there is nothing to enforce
    (a table without owners, auth off, or the server's own calls)."""
    resource_type = table.info.get(RESOURCE_TYPE)
    if resource_type is None:
        return None
    context = request_context()
    user = context.user
    if user is None or user.principal == SYSTEM_PRINCIPAL:
        return None
    key = next(iter(table.primary_key.columns)).name
    return Guard(user, context.policy, resource_type, key)
