"""scripts/upgrade's parts that decide what moves: the Dagster family's pins, and the packages
the lock moves with them. The whole upgrade, and its rollback, run against a real stack in
tests/e2e/test_upgrade.py."""

import re

import pytest

from tests.scripts import REPO, upgrade_script

upgrade = upgrade_script()
PYPROJECT = (REPO / "pyproject.toml").read_text()


def test_the_libraries_move_with_dagster_keeping_their_distance_in_the_minor_number():
    current = upgrade.pins(PYPROJECT)
    assert {"dagster", "dagster-webserver", "dagster-postgres", "dagster-docker"} <= set(current)
    moved = upgrade.family_for(current, "1.14.2")
    assert moved["dagster"] == moved["dagster-webserver"] == moved["create-dagster"] == "1.14.2"
    _, minor, _ = current["dagster"].split(".")
    lib_major, lib_minor, _ = current["dagster-postgres"].split(".")
    assert moved["dagster-postgres"] == f"{lib_major}.{int(lib_minor) + 14 - int(minor)}.2"
    assert moved["dagster-postgres"] == moved["dagster-docker"] == moved["dagster-k8s"]


def test_repinning_changes_the_family_s_pins_and_nothing_else():
    moved = upgrade.family_for(upgrade.pins(PYPROJECT), "1.12.22")
    repinned = upgrade.repin(PYPROJECT, moved)
    assert upgrade.pins(repinned) == moved
    # Every pin, in the constraints and in the dev group alike, and no other line.
    changed = [
        (old, new)
        for old, new in zip(PYPROJECT.splitlines(), repinned.splitlines(), strict=True)
        if old != new
    ]
    assert len(changed) == len(upgrade.PIN.findall(PYPROJECT)) == 9
    assert all(upgrade.PIN.search(old) for old, _ in changed)


@pytest.mark.parametrize("target", ["1.14", "latest", "1.14.0rc1", ""])
def test_a_target_that_is_not_a_release_number_says_so(target):
    with pytest.raises(upgrade.StepFailed, match=rf"^{target!r} is not a Dagster release number"):
        upgrade.family_for(upgrade.pins(PYPROJECT), target)


def test_the_lock_moves_the_packages_the_family_pulls_in_as_well():
    lock = upgrade.locked((REPO / "uv.lock").read_text())
    family = upgrade.family_in(lock)
    assert {"dagster", "dagster-pipes", "dagster-shared", "create-dagster"} <= set(family)
    assert "pandas" not in family and "stack" not in family


def test_the_changes_list_what_moved_came_and_went():
    before = {"dagster": "1.12.22", "httpx": "0.28.1", "gone": "1.0"}
    after = {"dagster": "1.13.27", "httpx": "0.28.1", "new": "2.0"}
    assert upgrade.changes(before, after) == [
        "  dagster: 1.12.22 -> 1.13.27",
        "  gone: 1.0 -> (removed)",
        "  new: (none) -> 2.0",
    ]


def test_the_copy_it_locks_holds_every_workspace_member_s_manifest_and_nothing_else(tmp_path):
    """What `--check` locks: the lock, the root's pyproject.toml and each package the lock
    installs from the workspace (its editable sources), nothing of .venv, tests or backups."""
    members = re.findall(r'^source = \{ editable = "([^"]+)" \}$', upgrade.read("uv.lock"), re.M)
    upgrade.manifests(tmp_path)
    copied = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert copied == {"uv.lock", "pyproject.toml", *(f"{m}/pyproject.toml" for m in members)}
    assert len(members) >= 5
