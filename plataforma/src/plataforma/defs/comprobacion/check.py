"""stack_check: the sample run of `stack-check` (stack.check), which scripts/upgrade runs after
an upgrade. It succeeds when a run container starts, loads the instance and writes its events,
and runs the Dagster release the webserver runs (the tag stack/expected_dagster)."""

from importlib.metadata import version

import dagster as dg

from stack.check import EXPECTED_TAG


@dg.op(name="comprobar_version")
def comprobar_version(context: dg.OpExecutionContext) -> dg.Output[None]:
    running = version("dagster")
    expected = context.run.tags.get(EXPECTED_TAG, running)
    if running != expected:
        raise dg.Failure(
            f"This run ran on Dagster {running}, the webserver on {expected}: rebuild the "
            "plataforma image (docker compose build) so that they match."
        )
    return dg.Output(None, metadata={"dagster": running})


@dg.job(
    name="stack_check",
    description="A run that checks the stack: a run container starts on the Dagster release "
    "the webserver runs. Launched by stack-check (scripts/upgrade).",
    tags={"dagster/max_retries": "0"},
)
def stack_check() -> None:
    comprobar_version()
