"""The alert receiver of the end-to-end tests (tests/e2e/alerts/): an HTTP and an SMTP server
in a container on a stack's network, recording what they get as files of the host."""

import json
import os
import secrets
import shutil
import tempfile
from email import message_from_string, policy
from pathlib import Path

from tests.e2e.compose_stack import Stack, docker, wait_until

# The receiver's name on the stack's network.
RECEIVER = "receptor"


class Receiver:
    """The receiver's container, on the stack's network as `receptor`, writing what it gets to
    a directory of the host."""

    def __init__(self, stack: Stack, image: str):
        self.records = Path(tempfile.mkdtemp(prefix="ventas-alerts-"))
        self.records.chmod(0o777)
        self.name = f"{stack.project}-receptor-{secrets.token_hex(3)}"
        self.network = f"{stack.project}_dagster"
        self.image = image

    def run(self) -> None:
        # No --rm: the tests stop and start it again; remove() takes it away.
        docker(
            "run",
            "--detach",
            "--name",
            self.name,
            "--network",
            self.network,
            "--network-alias",
            RECEIVER,
            "--volume",
            f"{self.records}:/records",
            # Its records belong to whoever runs the tests, who removes them.
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            self.image,
        )
        self.wait_ready()

    def wait_ready(self) -> None:
        wait_until((self.records / "ready").exists, 30, "the receiver to listen")

    def stop(self) -> None:
        docker("stop", "--time", "5", self.name)
        (self.records / "ready").unlink(missing_ok=True)

    def start(self) -> None:
        docker("start", self.name)
        self.wait_ready()

    def hold_answers(self, seconds: float) -> None:
        """Answer each POST only `seconds` after it arrived (0: at once)."""
        (self.records / "delay").write_text(str(seconds), encoding="utf-8")

    def remove(self) -> None:
        docker("rm", "--force", self.name, check=False)
        shutil.rmtree(self.records, ignore_errors=True)

    def _read(self, kind: str) -> list[dict]:
        folder = self.records / kind
        if not folder.is_dir():
            return []
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]

    def posts(self, run_id: str) -> list[dict]:
        """The POSTs that name `run_id`, in the order they came."""
        return [p for p in self._read("webhook") if run_id in p["body"]]

    def mails(self, run_id: str) -> list:
        """The e-mails that name `run_id`, parsed."""
        return [
            (mail, message_from_string(mail["message"], policy=policy.default))
            for mail in self._read("mail")
            if run_id in mail["message"]
        ]

    def all_posts(self) -> list[dict]:
        return self._read("webhook")
