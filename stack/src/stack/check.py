"""stack-check: does this stack work? Every code location loads, and a sample run, launched
as the UI launches one, succeeds in a run container of this Dagster release. Run in the
webserver's container, `docker compose exec webserver stack-check`; scripts/upgrade runs it
after an upgrade. Exits 1 with what failed on the first line."""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from importlib.metadata import version

# The webserver, from inside its own container.
URL = "http://localhost:3000/graphql"
# The sample run: the plataforma location's job that checks the Dagster release a run
# container runs (plataforma/src/plataforma/defs/comprobacion/).
JOB = "stack_check"
# The tag through which a sample run learns which release it must be running.
EXPECTED_TAG = "stack/expected_dagster"

LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename
      ... on RepositoryLocation { repositories { name jobs { name } } }
      ... on PythonError { message causes { message } } } } } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
    ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } }
  } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status
    stepStats { stepKey status }
    eventConnection(afterCursor: null) { events { __typename
      ... on MessageEvent { message } ... on ExecutionStepFailureEvent { error { message } }
      ... on RunFailureEvent { message } } } } } }"""
ENDED = {"SUCCESS", "FAILURE", "CANCELED"}


class CheckFailed(Exception):
    """What does not work, to print as the first line."""


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise CheckFailed(f"the webserver does not answer at {url}: {error}") from None
    if body.get("errors"):
        raise CheckFailed(f"the webserver's GraphQL API answered: {body['errors'][0]['message']}")
    return body["data"]


def first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "(no message)"


def loaded_locations(url: str, timeout: float) -> dict[str, dict]:
    """Each location's entry once none is loading any more; fails on one that did not load."""
    deadline = time.monotonic() + timeout
    while True:
        workspace = graphql(url, LOCATIONS)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise CheckFailed(f"the webserver cannot read its workspace: {workspace}")
        entries = workspace["locationEntries"]
        if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
            break
        if time.monotonic() > deadline:
            loading = [entry["name"] for entry in entries if entry["loadStatus"] != "LOADED"]
            raise CheckFailed(f"code locations still loading after {timeout:.0f} s: {loading}")
        time.sleep(1)
    for entry in entries:
        located = entry["locationOrLoadError"] or {}
        if located.get("__typename") != "RepositoryLocation":
            # The last cause is the user's error (an ImportError, a bad setting), the first
            # only Dagster's "Error occurred during the loading of Dagster definitions".
            errors = [located, *located.get("causes", [])]
            raise CheckFailed(
                f"code location {entry['name']} does not load: "
                f"{first_line(errors[-1].get('message', ''))}"
            )
    return {entry["name"]: entry["locationOrLoadError"] for entry in entries}


def find_job(locations: dict[str, dict], job: str) -> tuple[str, str]:
    """(location, repository) of the job named `job`."""
    for name, location in locations.items():
        for repository in location["repositories"]:
            if any(each["name"] == job for each in repository["jobs"]):
                return name, repository["name"]
    raise CheckFailed(f"no code location has a job named {job}")


def sample_run(url: str, locations: dict[str, dict], job: str, timeout: float) -> str:
    """Launch `job` and wait for it; its run id once it succeeded."""
    location, repository = find_job(locations, job)
    params = {
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": repository,
            "jobName": job,
        },
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": EXPECTED_TAG, "value": version("dagster")}]},
    }
    launched = graphql(url, LAUNCH, {"params": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        reason = launched.get("message") or launched.get("errors") or launched["__typename"]
        raise CheckFailed(f"the sample run of {job} could not be launched: {reason}")
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + timeout
    while True:
        run = graphql(url, RUN, {"id": run_id})["runOrError"]
        if run["status"] in ENDED:
            break
        if time.monotonic() > deadline:
            raise CheckFailed(
                f"the sample run {run_id} of {job} is still {run['status']} after {timeout:.0f} s"
            )
        time.sleep(1)
    if run["status"] != "SUCCESS":
        raise CheckFailed(f"the sample run {run_id} of {job} ended {run['status']}: {why(run)}")
    return run_id


def why(run: dict) -> str:
    """The first line of the first error among a failed run's events."""
    for event in run["eventConnection"]["events"]:
        if event["__typename"] == "ExecutionStepFailureEvent":
            return first_line(event["error"]["message"])
    for event in run["eventConnection"]["events"]:
        if event["__typename"] == "RunFailureEvent":
            return first_line(event["message"])
    return "no error recorded"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=URL, help=f"the webserver's GraphQL API ({URL})")
    parser.add_argument(
        "--job",
        action="append",
        help=f"a job to run as a sample, found in whichever location has it; repeat for more "
        f"(default {JOB})",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds for each wait")
    args = parser.parse_args(argv)
    try:
        locations = loaded_locations(args.url, args.timeout)
        print(f"stack-check: every code location loads: {', '.join(sorted(locations))}")
        for job in args.job or [JOB]:
            run_id = sample_run(args.url, locations, job, args.timeout)
            print(f"stack-check: the sample run of {job} succeeded ({run_id})")
    except CheckFailed as failure:
        print(f"stack-check: {failure}", file=sys.stderr)
        return 1
    print(f"stack-check: Dagster {version('dagster')} works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
