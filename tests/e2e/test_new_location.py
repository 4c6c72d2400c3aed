"""Adding a code location takes what docs/locations.md says, and nothing else: this test
follows its steps on a copy of the project, taking every command and every block from the
page itself, builds the stack and runs the new location's asset in its own image."""

import re
import subprocess

import pytest

from tests.e2e.compose_stack import REPO, project_copy, running_stack, tags_of

pytestmark = pytest.mark.usefixtures("docker_ready")

GUIDE = REPO / "docs" / "locations.md"
ASSET = '''import dagster as dg


@dg.asset(group_name="campanas")
def campanas() -> dg.MaterializeResult:
    """The new location's asset."""
    return dg.MaterializeResult(metadata={"campanas": 3})
'''


def steps() -> tuple[list[str], str, str, str]:
    """The section "Adding a location": its commands, its Compose block, its line under
    x-code-locations and its workspace.yaml entry, as the page has them."""
    section = GUIDE.read_text().split("## Adding a location", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", re.sub(r"(?m)^   ", "", section), re.DOTALL)
    assert [kind for kind, _ in blocks] == ["sh", "yaml", "yaml", "yaml"], blocks
    commands, compose, waited_for, workspace = (text for _, text in blocks)
    return commands.strip().splitlines(), compose, waited_for, workspace


def insert_after(path, anchor: str, text: str) -> None:
    content = path.read_text()
    assert content.count(anchor) == 1, f"{path.name}: {anchor!r}"
    path.write_text(content.replace(anchor, anchor + text))


def test_a_location_added_as_the_guide_says_loads_and_runs_in_its_own_image(tmp_path):
    source = project_copy(tmp_path)
    commands, compose, waited_for, workspace = steps()

    # 1. The folder: the page's commands, with the checkout's .venv.
    for command in commands:
        program, *arguments = command.split()
        if program.startswith(".venv/"):
            program = str(REPO / program)
        subprocess.run([program, *arguments], cwd=source, check=True, capture_output=True)
    pyproject = source / "marketing" / "pyproject.toml"
    text = pyproject.read_text()
    assert text.count("dependencies = [\n") == 1
    pyproject.write_text(
        text.replace("dependencies = [\n", 'dependencies = [\n    "locationkit",\n')
    )
    domain = source / "marketing" / "src" / "marketing" / "defs" / "campanas"
    domain.mkdir()
    (domain / "__init__.py").touch()
    (domain / "assets.py").write_text(ASSET)
    assert "marketing" in (source / "dg.toml").read_text()  # create-dagster added it

    # 2. The Compose block, after plataforma's, and its name under x-code-locations.
    compose_file = source / "docker-compose.yml"
    insert_after(
        compose_file, "      DAGSTER_PUBLIC_URL: ${DAGSTER_PUBLIC_URL:-}\n", "\n" + compose
    )
    insert_after(compose_file, "  plataforma: {condition: service_healthy}\n", waited_for)
    # 3. The workspace line.
    (source / "workspace.yaml").write_text((source / "workspace.yaml").read_text() + workspace)
    # Then the lock.
    subprocess.run(
        [str(REPO / ".uv" / "bin" / "uv"), "lock", "--quiet"], cwd=source, check=True, timeout=300
    )

    with running_stack("ventas-e2e-new-location", project_dir=source) as stack:
        location = stack.wait_for_location("marketing")
        (repository,) = location["repositories"]
        assert [node["assetKey"]["path"] for node in repository["assetNodes"]] == [["campanas"]]
        run = stack.wait_for_run(stack.launch(assets=["campanas"], location="marketing"))
        assert run["status"] == "SUCCESS", stack.run_log(run["runId"])
        assert tags_of(run)["dagster/image"] == f"{stack.project}-marketing"
