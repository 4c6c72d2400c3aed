import threading

import dagster as dg
import pytest
from dagster._daemon.types import DaemonHeartbeat

from stack.heartbeats import HeartbeatWatch, tolerance_from


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def beat_all(instance, at: float) -> None:
    for daemon in instance.get_required_daemon_types():
        instance.add_daemon_heartbeat(DaemonHeartbeat(at, daemon, "test", None))


def test_healthy_while_every_daemon_beats_within_the_tolerance(instance, tmp_path):
    clock = Clock(1000.0)
    watch = HeartbeatWatch(instance, 120, tmp_path / "healthy", clock)
    clock.now = 2000.0
    beat_all(instance, 1890.0)
    assert watch.check()
    assert (tmp_path / "healthy").exists()


def test_one_silent_daemon_makes_the_watch_exit_and_names_it(instance, tmp_path, capsys):
    clock = Clock(1000.0)
    watch = HeartbeatWatch(instance, 120, tmp_path / "healthy", clock)
    clock.now = 2000.0
    beat_all(instance, 1990.0)
    instance.add_daemon_heartbeat(DaemonHeartbeat(1850.0, "SENSOR", "test", None))
    assert watch.silent() == {"SENSOR": 150.0}
    assert not watch.check()
    assert not (tmp_path / "healthy").exists()
    assert "SENSOR (150 s)" in capsys.readouterr().err

    exits = []
    stopping = threading.Event()
    watch.check_interval = 0
    thread = threading.Thread(target=watch.watch, args=(stopping, exits.append))
    thread.start()
    thread.join(timeout=20)
    stopping.set()
    assert exits[:1] == [1]


def test_a_daemon_that_just_started_has_the_tolerance_to_beat(instance, tmp_path):
    """The heartbeats left by the previous daemon are old; the new one is not judged by them."""
    beat_all(instance, 100.0)
    clock = Clock(5000.0)
    watch = HeartbeatWatch(instance, 120, tmp_path / "healthy", clock)
    clock.now = 5100.0
    assert watch.check()
    clock.now = 5121.0
    assert set(watch.silent()) == set(instance.get_required_daemon_types())


@pytest.mark.parametrize("value", ["30", "2m", "-1", "1.5"])
def test_a_bad_tolerance_is_named(value):
    with pytest.raises(SystemExit) as error:
        tolerance_from({"DAGSTER_DAEMON_HEARTBEAT_TOLERANCE": value})
    assert str(error.value).startswith(f"DAGSTER_DAEMON_HEARTBEAT_TOLERANCE={value!r} is not")
