"""The memory, CPU and process limits of run containers, from their written form: what the run
launcher (stack.launcher), the migrate step (stack.migrate) and the Helm values
(deploy/kubernetes/values.py) check. Plain Python, so that checking a setting does not import
Dagster."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Docker's own notation: a number of bytes, or of k, m or g of them.
MEMORY = re.compile(r"[1-9][0-9]*[bkmg]?", re.IGNORECASE)


class LimitError(ValueError):
    """A memory or CPU limit Docker cannot take. The message names the setting and the fix."""


@dataclass(frozen=True)
class Limits:
    memory: str
    cpus: float
    pids: int

    @classmethod
    def parse(cls, memory: str, cpus: str, pids: int, where: Mapping[str, str]) -> Limits:
        """Limits from their written form; `where` names the setting each value came from."""
        memory = memory.strip()
        if not MEMORY.fullmatch(memory):
            raise LimitError(
                f"{where['memory']}={memory!r} is not a memory size: write a number with k, m or g "
                "after it, such as 512m or 2g."
            )
        try:
            cores = float(cpus)
        except ValueError:
            cores = 0.0
        if not 0 < cores <= 1024:
            raise LimitError(
                f"{where['cpus']}={cpus!r} is not a number of CPUs: write one above 0, such as 1 "
                "or 1.5."
            )
        return cls(memory=memory.lower(), cpus=cores, pids=pids)

    @property
    def container_kwargs(self) -> dict[str, Any]:
        # No swap beyond the memory limit: a run over it is stopped, not slowed to a crawl.
        return {
            "mem_limit": self.memory,
            "memswap_limit": self.memory,
            "nano_cpus": int(self.cpus * 1e9),
            "pids_limit": self.pids,
        }
