"""An access policy's read decision as one SQL expression over an owned table's rows.

So that lists under custom rules are filtered in the query (pages stay whole, and a caller's page costs
no more than the rows it returns), every rule form is translated: the scope and `user with ...`
conditions are constants for the caller, `user is owner` and `resource is unowned` test the owner column,
and `user in owners <attribute>` tests the owner's attributes (JSON) on SQLite and PostgreSQL. First match
decides: a row is readable when some rule permits it and no earlier rule applies to it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from polystack.apis.datatypes import User
from polystack.core.access.conditions import Condition
from polystack.core.access.policy import AccessPolicy, AccessRule
from polystack.core.access.resources import Action
from polystack.core.storage.sql.schema import OWNER_ATTRIBUTES, OWNER_PRINCIPAL

Clause = ColumnElement[bool]


def readable_clause(policy: AccessPolicy, user: User, table: sa.Table, resource_type: str, key: str,
                    dialect: str) -> Clause:
    """Rows of `table` the policy lets `user` read; the same decision as AccessPolicy.allows, row by row."""
    earlier: list[Clause] = []
    permitted: list[Clause] = []
    for rule in policy.rules:
        applies = _applies(rule, user, table, resource_type, key, dialect)
        if rule.permit is not None:
            permitted.append(sa.and_(applies, *[sa.not_(e) for e in earlier]))
        earlier.append(applies)
    return sa.or_(sa.false(), *permitted)


def _applies(rule: AccessRule, user: User, table: sa.Table, resource_type: str, key: str, dialect: str) -> Clause:
    scope = rule.permit or rule.forbid
    assert scope is not None
    if Action.READ not in scope.actions or (scope.principal is not None and scope.principal != user.principal):
        return sa.false()
    matched: Clause = sa.true()
    if scope.resource is not None:
        kind, _, identifier = scope.resource.partition("::")
        if kind != resource_type:
            return sa.false()
        if identifier != "*":
            matched = table.c[key] == identifier
    if rule.when is not None:
        return sa.and_(matched, *[_holds(c, user, table, dialect) for c in rule.when])
    if rule.unless is not None:
        return sa.and_(matched, sa.not_(sa.and_(*[_holds(c, user, table, dialect) for c in rule.unless])))
    return matched


def _holds(condition: Condition, user: User, table: sa.Table, dialect: str) -> Clause:
    """One condition as a clause that is never NULL (NOT NULL is NULL, which would turn a deny into a skip)."""
    owner = table.c[OWNER_PRINCIPAL]
    words = condition.text.split()
    match words:
        case ["user", "is", "owner"]:
            return sa.and_(owner.is_not(None), owner == user.principal)
        case ["user", "is", "not", "owner"]:
            return sa.not_(sa.and_(owner.is_not(None), owner == user.principal))
        case ["resource", "is", "unowned"]:
            return owner.is_(None)
        case ["user", "with", value, "in", attribute]:
            return sa.true() if value in user.attributes.get(attribute, ()) else sa.false()
        case ["user", "with", value, "not", "in", attribute]:
            return sa.false() if value in user.attributes.get(attribute, ()) else sa.true()
        case ["user", "in", "owners", attribute]:
            return _in_owners(table, attribute, user.attributes.get(attribute, []), dialect)
        case ["user", "not", "in", "owners", attribute]:
            return sa.not_(_in_owners(table, attribute, user.attributes.get(attribute, []), dialect))
    raise ValueError(f"no SQL for the condition {condition.text!r}")  # parse() admits no other form


def _in_owners(table: sa.Table, attribute: str, values: list[str], dialect: str) -> Clause:
    """The owner has no values under `attribute` (or no owner), or shares one with the user."""
    attributes = table.c[OWNER_ATTRIBUTES]
    if dialect == "postgresql":
        found: Any = attributes.op("->")(sa.literal(attribute, sa.Text()))
        is_array = sa.func.coalesce(sa.func.jsonb_typeof(found) == "array", False)
        count: ColumnElement[Any] = sa.case((is_array, sa.func.jsonb_array_length(found)), else_=0)
        shared: Clause = sa.func.coalesce(
            found.op("?|", return_type=sa.Boolean())(sa.literal(list(values), ARRAY(sa.Text()))), False)
    else:
        path = sa.literal('$."' + attribute.replace('"', '""') + '"', sa.Text())
        count = sa.func.coalesce(sa.func.json_array_length(attributes, path), 0)
        each = sa.func.json_each(attributes, path).table_valued("value")
        shared = sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value.in_(list(values))))
    return sa.or_(count == 0, shared)
