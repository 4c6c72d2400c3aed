"""How a problem the user can fix (`UserError`: a bad input file, bad data, a bad setting)
reaches the UI: as the first line of the failed step.

Dagster shows a failed step as Python prints its exception, `<module>.<Class>: <message>`,
and wraps errors raised by I/O managers and checks in its own exceptions, so the user's
problem would come after a Dagster class name or below "Error occurred while handling
output ...". A `dg.Failure` is never wrapped; the failure made here also prints as
`<Problem>: <message>` (for example `InputFileError: /data/ventas.csv, line 3, ...`),
so the first line is the problem itself. It is never retried: bad input fails again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg


class UserError(ValueError):
    """A problem in the user's files, data or settings, not a bug: the message says what is
    wrong and how to fix it, complete on its own (which file, line, column, setting)."""


class SettingError(UserError):
    """An environment variable with a value the code location cannot use."""


def user_failure(kind: str, message: str) -> dg.Failure:
    """A Failure that prints as `<kind>: <message>`."""
    # Python leaves out the module of exceptions that claim to be built in.
    shown = type(kind, (dg.Failure,), {"__module__": "builtins"})
    return shown(description=message, allow_retries=False)


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Raise a `UserError` from the block as a failure the UI shows first."""
    try:
        yield
    except UserError as error:
        raise user_failure(type(error).__name__, str(error)) from None
