"""Config fields for settings that are not implemented yet: documented, typed, and refused at startup.

A setting the server would accept and then ignore is worse than an error (a user who writes `cors:` or
`quota:` believes it is in force). Such keys stay in the schema, so the reference documents them and the
error can say "not implemented yet" rather than "unknown key", but any value other than their default
stops the server with the key's path in the file.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

NOT_IMPLEMENTED = "is not implemented yet; remove it (the server refuses settings it would ignore)"


def not_implemented(what: str) -> Any:
    """A field that only accepts being absent (or null)."""
    return Field(default=None, description=f"{what} Not implemented yet: setting it stops the server at startup.")


def refuse_unimplemented(*names: str) -> Any:
    """A validator refusing any value of the fields `names`; the error names the key."""

    def refuse(value: Any, info: Any) -> Any:
        if value is not None:
            raise ValueError(f"'{info.field_name}' {NOT_IMPLEMENTED}")
        return value

    return field_validator(*names, mode="before")(refuse)


def refuse_other_values(name: str, accepted: Any, reason: str) -> Any:
    """A validator accepting only `accepted` for the field `name`, saying why anything else is refused."""

    def only(value: Any) -> Any:
        if value != accepted:
            raise ValueError(f"'{name}: {value}' is refused: {reason}")
        return value

    return field_validator(name, mode="after")(only)  # after: "1" from an env variable is already 1
