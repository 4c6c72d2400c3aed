"""deploy/public-auth, the public profile's one-shot: an empty password is named before
anything is written, and only hashes reach the file the proxy imports. Run here with a
stand-in `caddy` on PATH; with real Caddy, in Docker: tests/e2e/test_public.py."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "public-auth"
START_AGAIN = "then start again: docker compose --profile public up -d"

# Records its arguments, reads one line as `caddy hash-password` does, prints a "hash".
FAKE_CADDY = """#!/bin/sh
echo "$*" >>"$CADDY_ARGS"
IFS= read -r password
printf 'hash-of-%s\\n' "$(printf %s "$password" | sha256sum | cut -c1-16)"
"""


@pytest.fixture
def run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    caddy = bin_dir / "caddy"
    caddy.write_text(FAKE_CADDY)
    caddy.chmod(0o755)

    def run(**passwords: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PUBLIC_AUTH_FILE": str(tmp_path / "auth" / "users"),
            "CADDY_ARGS": str(tmp_path / "caddy-args"),
            **passwords,
        }
        return subprocess.run(
            ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
        )

    return run


def sha(text: str) -> str:
    return subprocess.run(
        ["sha256sum"], input=text, capture_output=True, text=True, check=True
    ).stdout[:16]


def test_both_passwords_become_hashes_in_a_file_only_its_owner_reads(run, tmp_path):
    operator = "op pass'$1 \\n"  # what a shell would mangle
    result = run(DAGSTER_OPERATOR_PASSWORD=operator, DAGSTER_VIEWER_PASSWORD="vw-pass")

    assert result.returncode == 0, result.stderr
    users = tmp_path / "auth" / "users"
    assert users.read_text() == (
        f"operator hash-of-{sha(operator)}\nviewer hash-of-{sha('vw-pass')}\n"
    )
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert not (tmp_path / "auth" / "users.tmp").exists()
    # The passwords went through standard input, never as arguments.
    assert (tmp_path / "caddy-args").read_text() == "hash-password\nhash-password\n"
    assert result.stdout == (
        "public_auth: wrote the bcrypt hashes of the operator and viewer passwords\n"
    )
    assert result.stderr == ""


@pytest.mark.parametrize(
    "passwords, message",
    [
        (
            {"DAGSTER_OPERATOR_PASSWORD": "op"},
            "DAGSTER_VIEWER_PASSWORD is empty: the public profile needs a password for each "
            "login; set it in .env (DAGSTER_VIEWER_PASSWORD=...), " + START_AGAIN,
        ),
        (
            {"DAGSTER_OPERATOR_PASSWORD": "", "DAGSTER_VIEWER_PASSWORD": "vw"},
            "DAGSTER_OPERATOR_PASSWORD is empty: the public profile needs a password for each "
            "login; set it in .env (DAGSTER_OPERATOR_PASSWORD=...), " + START_AGAIN,
        ),
        (
            {},
            "DAGSTER_OPERATOR_PASSWORD and DAGSTER_VIEWER_PASSWORD are empty: the public "
            "profile needs a password for each login; set them in .env "
            "(DAGSTER_OPERATOR_PASSWORD=... and DAGSTER_VIEWER_PASSWORD=...), " + START_AGAIN,
        ),
        (
            {"DAGSTER_OPERATOR_PASSWORD": "same", "DAGSTER_VIEWER_PASSWORD": "same"},
            "DAGSTER_OPERATOR_PASSWORD and DAGSTER_VIEWER_PASSWORD are the same: whoever has "
            "the viewer's password could log in as operator; give them different passwords in "
            ".env, " + START_AGAIN,
        ),
    ],
)
def test_a_missing_or_shared_password_is_named_in_one_line_and_nothing_is_written(
    run, tmp_path, passwords, message
):
    result = run(**passwords)

    assert result.returncode == 1
    assert result.stderr == f"public_auth: {message}\n"
    assert result.stdout == ""
    assert not (tmp_path / "auth").exists()
    assert not (tmp_path / "caddy-args").exists()
