"""stack_check, the sample run of stack-check: it fails, saying what to do, when the run
container's Dagster is not the webserver's (the release stack-check names in a tag)."""

from importlib.metadata import version

import dagster as dg

import plataforma.definitions
from stack.check import EXPECTED_TAG


def run_with(expected: str) -> dg.ExecuteInProcessResult:
    job = plataforma.definitions.defs().resolve_job_def("stack_check")
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            instance=instance, tags={EXPECTED_TAG: expected}, raise_on_error=False
        )


def test_a_run_on_the_webserver_s_release_succeeds_and_records_it():
    result = run_with(version("dagster"))
    assert result.success
    events = result.events_for_node("comprobar_version")
    (output,) = [event for event in events if event.event_type_value == "STEP_OUTPUT"]
    assert output.step_output_data.metadata["dagster"].value == version("dagster")


def test_a_run_on_another_release_fails_saying_to_rebuild():
    result = run_with("0.0.1")
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert message == (
        f"This run ran on Dagster {version('dagster')}, the webserver on 0.0.1: rebuild the "
        "plataforma image (docker compose build) so that they match."
    )
