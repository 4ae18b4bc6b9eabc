"""Database exceptions to Polystack errors, with messages of our own that never carry credentials."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from polystack.apis.errors import ConflictError, PolystackError, ServiceUnavailableError

# PostgreSQL SQLSTATE classes meaning "the server is not there for us right now": connection
# exceptions, operator intervention (admin shutdown, cannot connect now), insufficient resources.
_PG_UNAVAILABLE_PREFIXES = ("08", "57P", "53")
_SQLITE_UNAVAILABLE_WORDS = ("locked", "busy", "unable to open", "disk i/o")

DatabaseException = (sa.exc.SQLAlchemyError, OSError)


def translate(exc: BaseException, backend: str, *, connecting: bool, table: str | None,
              secret: str | None = None) -> PolystackError:
    """The error users see for `exc`, raised while connecting to or using `backend`.

    SQLAlchemy's own messages embed the SQL and may embed parameters; only the driver's first
    line is kept here, and the password is blanked in case a driver ever quotes it.
    """
    reason = _reason(exc)
    if secret:
        reason = reason.replace(secret, "***")
    if connecting or _is_unavailable(exc):
        return ServiceUnavailableError(f"SQL backend {backend} is unavailable: {reason}")
    if isinstance(exc, sa.exc.IntegrityError):
        where = f" in table '{table}'" if table else ""
        return ConflictError(f"The row conflicts with an existing row{where}: {reason}")
    return PolystackError(f"SQL backend {backend} failed: {reason}")


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, sa.exc.TimeoutError, sa.exc.DisconnectionError, sa.exc.InterfaceError)):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_PG_UNAVAILABLE_PREFIXES)
    if isinstance(exc.orig, sqlite3.OperationalError):
        message = str(exc.orig).lower()
        return any(word in message for word in _SQLITE_UNAVAILABLE_WORDS)
    return False


def _reason(exc: BaseException) -> str:
    orig = exc.orig if isinstance(exc, sa.exc.StatementError) else None
    cause: BaseException = orig if isinstance(orig, BaseException) else exc
    if isinstance(cause, OSError) or not cause.args:
        text = str(cause)
    else:
        text = str(cause.args[0])
    lines = text.strip().splitlines()
    return lines[0] if lines else type(cause).__name__
