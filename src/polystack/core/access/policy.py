"""The access policy: one decision, (principal, action, resource) -> allowed, from run-config rules.

Rules are Llama Stack's `access_policy`: checked in order, the first whose scope matches and whose
`when` holds (or `unless` fails) decides; when none matches the action is denied. An empty list means
the default policy: what a caller creates is theirs alone, and what the run config declares (no owner)
is readable by every caller. Without a principal (auth off) and for the system principal, all is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from polystack.apis.datatypes import User
from polystack.core.access import conditions
from polystack.core.access.resources import Action, ProtectedResource

SYSTEM_PRINCIPAL = "polystack:system"
SYSTEM = User(principal=SYSTEM_PRINCIPAL)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _conditions(value: Any) -> Any:
    if isinstance(value, str | list):
        return [c if isinstance(c, conditions.Condition) else conditions.parse(c) for c in _as_list(value)]
    return value


Conditions = Annotated[list[conditions.Condition], BeforeValidator(_conditions),
                       PlainSerializer(lambda cs: [c.text for c in cs])]


class Scope(BaseModel):
    """Whom (`principal`, any if unset), which actions and which resources (`<type>::<id>` or `<type>::*`)."""

    model_config = ConfigDict(extra="forbid")

    principal: str | None = None
    actions: Annotated[list[Action], BeforeValidator(_as_list)] = Field(min_length=1)
    resource: str | None = None

    @model_validator(mode="after")
    def _resource_shape(self) -> Scope:
        if self.resource is not None:
            kind, sep, identifier = self.resource.partition("::")
            if not sep or not kind or not identifier:
                raise ValueError(f"resource {self.resource!r} must be '<type>::<identifier>' or '<type>::*'")
        return self

    def matches(self, action: Action, resource: ProtectedResource, user: User) -> bool:
        if action not in self.actions or (self.principal is not None and self.principal != user.principal):
            return False
        if self.resource is None:
            return True
        kind, _, identifier = self.resource.partition("::")
        return kind == resource.type and identifier in ("*", resource.identifier)


class AccessRule(BaseModel):
    """Exactly one of `permit`/`forbid`, and at most one of `when`/`unless` (every listed condition must hold)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    permit: Scope | None = None
    forbid: Scope | None = None
    when: Conditions | None = None
    unless: Conditions | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> AccessRule:
        if (self.permit is None) == (self.forbid is None):
            raise ValueError("an access rule needs exactly one of 'permit' or 'forbid'")
        if self.when is not None and self.unless is not None:
            raise ValueError("an access rule may have 'when' or 'unless', not both")
        return self

    def decides(self, action: Action, resource: ProtectedResource, user: User) -> bool | None:
        """True (permit) or False (forbid) when the rule applies, None when it does not."""
        scope = self.permit or self.forbid
        assert scope is not None
        if not scope.matches(action, resource, user):
            return None
        if self.when is not None and not all(c(user, resource) for c in self.when):
            return None
        if self.unless is not None and all(c(user, resource) for c in self.unless):
            return None
        return self.permit is not None


class AccessPolicy:
    """The server's rules; `default` tells the SQL store it may filter by owner in the query itself."""

    def __init__(self, rules: Sequence[AccessRule] = ()) -> None:
        self.rules = tuple(rules)
        self.default = not self.rules

    def allows(self, action: Action, resource: ProtectedResource, user: User | None) -> bool:
        if user is None or user.principal == SYSTEM_PRINCIPAL:
            return True
        if self.default:
            if resource.owner is None:
                return action == Action.READ
            return resource.owner.principal == user.principal
        for rule in self.rules:
            decision = rule.decides(action, resource, user)
            if decision is not None:
                return decision
        return False

    def readable(self, resources: Iterable[ProtectedResource], user: User | None) -> list[ProtectedResource]:
        return [r for r in resources if self.allows(Action.READ, r, user)]


DEFAULT_POLICY = AccessPolicy()
