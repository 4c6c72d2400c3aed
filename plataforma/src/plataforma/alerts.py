"""Alerts on failed runs: the message, sending it, and where each run's alert stands.

The sensors in defs/alertas/ call these; nothing here defines anything for Dagster.

A run's alert goes to every channel that is set (a webhook, e-mail), each at most once: the
channels that have it are written down with the run (`Delivery`, stored as the run's tags),
so a channel that failed is tried again later, with backoff, without sending the others a
second time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import dagster as dg

from stack.notify import DeliveryError, Sender, first_line

# --- the message ----------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    job: str
    run_id: str
    # The first line of the run's error, as the UI shows it first.
    problem: str
    location: str | None = None
    link: str | None = None

    @property
    def subject(self) -> str:
        return f"Run failed: {self.job} ({self.run_id[:8]})"

    @property
    def message_id(self) -> str:
        return f"{self.run_id}.failure"

    @property
    def text(self) -> str:
        where = f" in {self.location}" if self.location else ""
        lines = [f"Run failed: {self.job}{where}", f"Run ID: {self.run_id}", self.problem]
        if self.link:
            lines.append(self.link)
        return "\n".join(lines)


def run_link(public_url: str | None, run_id: str) -> str | None:
    return f"{public_url.rstrip('/')}/runs/{run_id}" if public_url else None


def alert_for(run: dg.DagsterRun, failure: dg.DagsterEvent | None, public_url: str | None) -> Alert:
    """The alert of a failed run, from its RUN_FAILURE event: the first line of the event's
    error when it has one (where the user's problem is, such as `InputFileError: ...`), else
    of its message."""
    error = getattr(failure.event_specific_data, "error", None) if failure else None
    problem = first_line(error.message if error is not None else None) or first_line(
        failure.message if failure else None
    )
    origin = run.remote_job_origin
    return Alert(
        job=run.job_name,
        run_id=run.run_id,
        problem=problem or "The run failed without a message.",
        location=origin.repository_origin.code_location_origin.location_name if origin else None,
        link=run_link(public_url, run.run_id),
    )


# --- where a run's alert stands -------------------------------------------------------

# `pending` or `sent`: runs with a pending alert are found by this tag.
STATUS_TAG = "stack/alert"
# The details, as JSON: the run they belong to (a re-executed run inherits its parent's
# tags), the channels that have the alert, the failed attempts, when to try next, why the
# last attempt failed.
DETAILS_TAG = "stack/alert_details"
# Their names when the alerts were the ventas location's: read, and kept in step with the new.
FORMER_STATUS_TAG, FORMER_DETAILS_TAG = "ventas/alert", "ventas/alert_details"
PENDING, SENT = "pending", "sent"
# How long an attempt may take before another may start: longer than sending to every
# channel can take, so that an attempt that died mid-way is taken up again, once.
LEASE = 120


def retry_delay(failures: int, interval: int) -> int:
    """Seconds to wait after the `failures`-th failed attempt: 1, 2, 4, ... intervals, at
    most 30 (15 minutes with the default interval of 30 s)."""
    return min(interval * 2 ** max(failures - 1, 0), interval * 30)


@dataclass(frozen=True)
class Delivery:
    """Where one run's alert stands."""

    run_id: str
    # The channels that have it.
    sent: frozenset[str] = frozenset()
    # Attempts that left a channel without it.
    failures: int = 0
    # Unix time before which nobody tries again.
    next_at: float = 0.0
    error: str = ""

    def done(self, channels: set[str] | frozenset[str]) -> bool:
        return set(channels) <= self.sent

    def tags(
        self, channels: set[str] | frozenset[str], run: dg.DagsterRun | None = None
    ) -> dict[str, str]:
        """The run's tags for where its alert stands; for a run that has the former tags, its
        former status tag too, so that the former query finds it no longer pending."""
        status = SENT if self.done(channels) else PENDING
        former = {FORMER_STATUS_TAG: status} if run and FORMER_STATUS_TAG in run.tags else {}
        details = {
            "run_id": self.run_id,
            "sent_to": sorted(self.sent),
            "failures": self.failures,
            "next_attempt": datetime.fromtimestamp(self.next_at, UTC).isoformat(),
            "error": self.error,
        }
        return {
            STATUS_TAG: status,
            DETAILS_TAG: json.dumps(details, ensure_ascii=False),
            **former,
        }

    @classmethod
    def of(cls, run: dg.DagsterRun) -> Delivery | None:
        """The run's own delivery, or None if its alert was never attempted (tags inherited
        from the run it re-executes do not count)."""
        try:
            details = json.loads(run.tags.get(DETAILS_TAG) or run.tags.get(FORMER_DETAILS_TAG, ""))
            if details["run_id"] != run.run_id:
                return None
            return cls(
                run_id=run.run_id,
                sent=frozenset(details["sent_to"]),
                failures=int(details["failures"]),
                next_at=datetime.fromisoformat(details["next_attempt"]).timestamp(),
                error=str(details["error"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def deliver(
    senders: Mapping[str, Sender],
    alert: Alert,
    delivery: Delivery,
    now: float,
    interval: int,
    down: set[str] | None = None,
) -> Delivery:
    """Send `alert` to each channel that does not have it yet, once; return where it then
    stands. A channel in `down` (one that failed a moment ago) is not tried, and counts as
    failed. A failure schedules the next attempt by `retry_delay`."""
    sent, errors = set(delivery.sent), []
    for channel, send in senders.items():
        if channel in sent:
            continue
        if down is not None and channel in down:
            errors.append(f"{channel}: not tried, it failed a moment ago")
            continue
        try:
            send(alert)
        except DeliveryError as error:
            errors.append(f"{channel}: {error}")
        # Whatever else a channel raises is its failure too, retried like the others: it must
        # not escape into the sensor, which would then drop the alert.
        except Exception as error:  # noqa: BLE001 - see above
            errors.append(f"{channel}: {type(error).__name__}")
        else:
            sent.add(channel)
            continue
        if down is not None:
            down.add(channel)
    if not errors:
        return replace(delivery, sent=frozenset(sent), next_at=now, error="")
    failures = delivery.failures + 1
    return Delivery(
        run_id=delivery.run_id,
        sent=frozenset(sent),
        failures=failures,
        next_at=now + retry_delay(failures, interval),
        error="; ".join(errors),
    )
