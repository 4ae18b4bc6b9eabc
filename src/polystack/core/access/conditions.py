"""The `when`/`unless` condition language of Llama Stack's access rules, parsed once at config load."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from polystack.apis.datatypes import User
from polystack.core.access.resources import ProtectedResource

Test = Callable[[User, ProtectedResource], bool]

FORMS = ("user is owner", "user is not owner", "user with <value> in <attribute>",
         "user with <value> not in <attribute>", "user in owners <attribute>", "user not in owners <attribute>",
         "resource is unowned")


@dataclass(frozen=True)
class Condition:
    """One parsed condition; `text` is kept for error messages and the config dump."""

    text: str
    test: Test = field(repr=False, compare=False)

    def __call__(self, user: User, resource: ProtectedResource) -> bool:
        return self.test(user, resource)


def parse(text: str) -> Condition:
    """The condition `text` says, or ValueError naming the forms it may take."""
    words = text.split()
    test = _parse_words(words)
    if test is None:
        raise ValueError(f"unknown condition {text!r}; expected one of: " + "; ".join(FORMS))
    return Condition(" ".join(words), test)


def _parse_words(words: list[str]) -> Test | None:
    match words:
        case ["user", "is", "owner"]:
            return _is_owner
        case ["user", "is", "not", "owner"]:
            return lambda user, resource: not _is_owner(user, resource)
        case ["user", "with", value, "in", attribute]:
            return lambda user, _: value in user.attributes.get(attribute, ())
        case ["user", "with", value, "not", "in", attribute]:
            return lambda user, _: value not in user.attributes.get(attribute, ())
        case ["user", "in", "owners", attribute]:
            return lambda user, resource: _in_owners(user, resource, attribute)
        case ["user", "not", "in", "owners", attribute]:
            return lambda user, resource: not _in_owners(user, resource, attribute)
        case ["resource", "is", "unowned"]:
            return lambda _, resource: resource.owner is None
    return None


def _is_owner(user: User, resource: ProtectedResource) -> bool:
    return resource.owner is not None and resource.owner.principal == user.principal


def _in_owners(user: User, resource: ProtectedResource, attribute: str) -> bool:
    """Holds when the owner lacks the attribute, or when the user shares one of its values (Llama Stack's)."""
    required = resource.owner.attributes.get(attribute) if resource.owner is not None else None
    if not required:
        return True
    return bool(set(required) & set(user.attributes.get(attribute, ())))
