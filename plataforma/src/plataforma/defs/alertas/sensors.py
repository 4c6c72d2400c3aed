"""Alerts on failed runs of every code location: a post to a webhook and/or an e-mail, once
per failed run. Off, with no sensor at all, while neither DAGSTER_ALERT_WEBHOOK_URL nor
DAGSTER_ALERT_EMAIL_TO is set.

`alertar_fallos` is a run-failure sensor. Dagster hands it each new RUN_FAILURE event and
moves its cursor past the event whatever the sensor does, also when it raises (the tick then
fails, and the event is never handed over again). So a receiver that is down is not retried
by raising: the run's tags say which channels have its alert (`plataforma.alerts.Delivery`), and
`reintentar_alertas` tries the others again, with backoff, until they take it. Neither
touches the run: it has failed as it failed, and stays so.
"""

import logging
import time
from dataclasses import replace

import dagster as dg

from plataforma.alerts import (
    FORMER_STATUS_TAG,
    LEASE,
    PENDING,
    STATUS_TAG,
    Alert,
    Delivery,
    alert_for,
    deliver,
)
from plataforma.settings import Settings
from stack.notify import Sender, channels_from

# Alerts retried in one tick at most: a tick stays short, whatever piled up.
RETRIES_PER_TICK = 10


def channels(settings: Settings) -> dict[str, Sender]:
    return channels_from(
        settings.alert_webhook_url,
        settings.alert_smtp,
        settings.alert_email_from,
        settings.alert_email_to,
    )


def attempt(
    instance: dg.DagsterInstance,
    log: logging.Logger,
    settings: Settings,
    alert: Alert,
    delivery: Delivery,
    down: set[str] | None = None,
) -> Delivery:
    """Send the alert to the channels that lack it, and write down where it then stands."""
    senders = channels(settings)
    now = time.time()
    run = instance.get_run_by_id(alert.run_id)
    # Claimed first, until the lease ends: should this process die mid-way, a retry takes
    # the alert up after the lease, and nobody else sends it meanwhile.
    claim = replace(delivery, next_at=now + LEASE).tags(set(senders), run)
    instance.add_run_tags(alert.run_id, claim)
    delivery = deliver(senders, alert, delivery, now, settings.alert_interval, down)
    instance.add_run_tags(alert.run_id, delivery.tags(set(senders), run))
    if delivery.done(set(senders)):
        log.info(f"Sent the alert of run {alert.run_id} ({', '.join(sorted(senders))}).")
    else:
        log.warning(
            f"The alert of run {alert.run_id} is not sent yet: {delivery.error}. Next attempt "
            f"at {time.strftime('%H:%M:%S', time.gmtime(delivery.next_at))} UTC."
        )
    return delivery


def alertar_fallos(context: dg.RunFailureSensorContext, settings: Settings) -> None:
    """The first attempt at a failed run's alert."""
    run = context.dagster_run
    if Delivery.of(run) is not None:
        # Attempted before: a daemon that died before storing its tick hands the same
        # failure over again. The first attempt, or the retries, see it through.
        context.log.info(f"The alert of run {run.run_id} was attempted already.")
        return
    alert = alert_for(run, context.failure_event, settings.public_url)
    attempt(context.instance, context.log, settings, alert, Delivery(run.run_id))


def reintentar_alertas(context: dg.SensorEvaluationContext, settings: Settings) -> dg.SkipReason:
    """Another attempt at each alert whose next attempt is due, oldest first. A channel that
    fails is not tried again in the same tick."""
    now = time.time()
    pending = {
        record.dagster_run.run_id: record.dagster_run
        for tag in (STATUS_TAG, FORMER_STATUS_TAG)  # and runs alerted before the tags' rename
        for record in context.instance.get_run_records(filters=dg.RunsFilter(tags={tag: PENDING}))
    }
    waiting = [
        (run, delivery)
        for run in pending.values()
        # None for tags a re-executed run inherited from its parent, not its own.
        if (delivery := Delivery.of(run)) is not None
    ]
    due = sorted((w for w in waiting if w[1].next_at <= now), key=lambda w: w[1].next_at)
    down: set[str] = set()
    sent = 0
    for run, delivery in due[:RETRIES_PER_TICK]:
        failures = context.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        failure = failures[-1].event_log_entry.dagster_event if failures else None
        alert = alert_for(run, failure, settings.public_url)
        done = attempt(context.instance, context.log, settings, alert, delivery, down)
        sent += done.done(set(channels(settings)))
    if not due:
        return dg.SkipReason(
            f"{len(waiting)} alert(s) waiting, none due yet." if waiting else "No alert waiting."
        )
    return dg.SkipReason(
        f"Retried {min(len(due), RETRIES_PER_TICK)} alert(s): {sent} sent; "
        f"{len(waiting) - sent} waiting."
    )


@dg.definitions
def sensors() -> dg.Definitions:
    """Both sensors while an alert channel is set, looking as often as the settings say."""
    settings = Settings.from_env()
    if not settings.alerts_on:
        return dg.Definitions()

    def first_attempt(context: dg.RunFailureSensorContext) -> None:
        alertar_fallos(context, settings)

    def retries(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        return reintentar_alertas(context, settings)

    return dg.Definitions(
        sensors=[
            dg.run_failure_sensor(
                name="alertar_fallos",
                monitor_all_code_locations=True,
                minimum_interval_seconds=settings.alert_interval,
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Sends an alert for each failed run, in every code location, to "
                "the webhook and/or the e-mail addresses set.",
            )(first_attempt),
            dg.sensor(
                name="reintentar_alertas",
                minimum_interval_seconds=settings.alert_interval,
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Sends again, with backoff, the alerts a receiver did not take.",
            )(retries),
        ]
    )
