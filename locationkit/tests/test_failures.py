"""locationkit.failures: a problem the user can fix is the first line of the failed step, and
is not retried."""

import dagster as dg
import pytest

from locationkit.failures import SettingError, UserError, reported, user_failure


def test_a_user_error_in_the_block_becomes_a_failure_printed_as_its_kind():
    with pytest.raises(dg.Failure) as caught, reported():
        raise SettingError("VENTAS_TIMEZONE='Madrid' is not a time zone")
    failure = caught.value
    assert f"{type(failure).__name__}: {failure.description}" == (
        "SettingError: VENTAS_TIMEZONE='Madrid' is not a time zone"
    )
    assert type(failure).__module__ == "builtins" and not failure.allow_retries


def test_other_errors_pass_through_as_they_are():
    with pytest.raises(KeyError), reported():
        raise KeyError("a bug")


def test_a_failure_of_any_kind_shows_that_kind_first():
    failure = user_failure("FileNotFoundError", "output/x.parquet does not exist")
    assert str(failure).startswith("output/x.parquet does not exist") or failure.description
    assert type(failure).__name__ == "FileNotFoundError"
    assert issubclass(SettingError, UserError)
