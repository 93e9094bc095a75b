"""Queue triggers on Azurite: delivery, outputs, retries to poison, batch limits, lease renewal, polling."""

from __future__ import annotations

import sys
import uuid

import pytest
from devhost_helpers import APPS, eventually

from hpcburst.devhost.process import DevhostProcess
from hpcburst.storage.queue.azure import AzureWorkQueue

QUEUES = ("WORK_QUEUE", "TEXT_QUEUE", "RELAY_QUEUE", "FLAKY_QUEUE", "BATCH_QUEUE", "SLOW_QUEUE")


@pytest.fixture
def queues(storage_connection, monkeypatch):
    """Fresh queue names (as app settings) and a client on the same Azurite."""
    suffix = uuid.uuid4().hex[:8]
    names = {setting: f"{setting.lower().replace('_queue', '')}-{suffix}" for setting in QUEUES}
    for setting, name in names.items():
        monkeypatch.setenv(setting, name)
    monkeypatch.setenv("AzureWebJobsStorage", storage_connection)
    client = AzureWorkQueue.from_connection_string(storage_connection)
    yield client, names
    client.close()


@pytest.fixture
def queue_app(start_host, queues):
    client, names = queues
    host = start_host("queues", queue_lease_seconds=2)
    module = sys.modules["function_app"]
    return host, module, client, names


def test_a_message_reaches_the_function_with_its_metadata_and_is_deleted(queue_app):
    _, app, client, names = queue_app
    sent = client.send(names["WORK_QUEUE"], '{"n": 1}')
    seen = eventually(lambda: app.SEEN, what="delivery")
    assert seen == [{"id": sent, "body": '{"n": 1}', "dequeue_count": 1, "inserted": True}]
    eventually(lambda: client.depth(names["WORK_QUEUE"]) == 0, what="deletion")


def test_a_str_parameter_gets_the_body_and_a_queue_output_is_sent_after_success(queue_app):
    _, _, client, names = queue_app
    client.send(names["TEXT_QUEUE"], "shout")
    relayed = eventually(lambda: client.receive(names["RELAY_QUEUE"]), what="the relayed message")
    assert [m.body for m in relayed] == ["SHOUT"]


def test_a_failing_message_is_retried_then_moved_to_poison_after_max_dequeue_count(queue_app):
    _, app, client, names = queue_app
    client.send(names["FLAKY_QUEUE"], "bad")
    poison = names["FLAKY_QUEUE"] + "-poison"
    moved = eventually(lambda: client.receive(poison), what="the poison message")
    assert [m.body for m in moved] == ["bad"]
    assert app.FLAKY_ATTEMPTS == [1, 2, 3]  # host.json maxDequeueCount = 3
    # moving is send-to-poison then delete (a crash between them re-delivers, never loses), so the
    # original can still be counted for a moment after the poison copy is visible
    eventually(lambda: client.depth(names["FLAKY_QUEUE"]) == 0, what="the original to be deleted")


def test_batches_run_concurrently_within_batch_size_plus_new_batch_threshold(queue_app):
    _, app, client, names = queue_app
    for i in range(12):
        client.send(names["BATCH_QUEUE"], str(i))
    eventually(lambda: app.BATCH["done"] == 12, what="all 12 messages")
    assert 1 < app.BATCH["peak"] <= 4 + 2  # batchSize 4 + newBatchThreshold 2


def test_the_lease_is_renewed_while_a_long_function_runs(queue_app):
    _, app, client, names = queue_app
    client.send(names["SLOW_QUEUE"], "3.5")  # longer than the 2 s processing lease
    eventually(lambda: client.depth(names["SLOW_QUEUE"]) == 0 and app.SLOW, timeout=30, what="completion")
    assert app.SLOW == [1]  # never redelivered while it ran


def test_stopping_the_host_lets_a_running_function_finish_and_deletes_its_message(queue_app):
    host, app, client, names = queue_app
    client.send(names["SLOW_QUEUE"], "1.0")
    eventually(lambda: app.SLOW, what="the function to start")
    host.stop()
    assert app.SLOW == [1]
    assert client.depth(names["SLOW_QUEUE"]) == 0


def test_messages_sent_by_another_process_are_found_by_polling(queue_app, storage_connection):
    import subprocess

    _, app, _, names = queue_app
    code = (
        "import sys; from hpcburst.storage.queue.azure import AzureWorkQueue; "
        "AzureWorkQueue.from_connection_string(sys.argv[1]).send(sys.argv[2], 'from afar')"
    )
    subprocess.run([sys.executable, "-c", code, storage_connection, names["WORK_QUEUE"]], check=True)
    seen = eventually(lambda: app.SEEN, what="delivery without a watcher signal")  # maxPollingInterval 2 s
    assert seen[0]["body"] == "from afar"


def test_kill_9_during_a_queue_function_loses_nothing_the_message_comes_back(queues, tmp_path):
    client, names = queues
    effects = tmp_path / "effects.log"
    env = {"EFFECTS_LOG": str(effects), "STEP_SECONDS": "2", "CRASH_QUEUE": names["WORK_QUEUE"]}
    client.send(names["WORK_QUEUE"], "job-1")
    first = DevhostProcess.start(APPS / "queue_crash", data_dir=tmp_path / "d1", env=env, queue_lease=2)
    try:
        eventually(
            lambda: effects.exists() and "start job-1 1" in effects.read_text(), what="the first attempt"
        )
    finally:
        first.kill()
    second = DevhostProcess.start(APPS / "queue_crash", data_dir=tmp_path / "d2", env=env, queue_lease=2)
    try:
        eventually(lambda: "end job-1 2" in effects.read_text(), what="the redelivered attempt to finish")
        eventually(lambda: client.depth(names["WORK_QUEUE"]) == 0, what="the message to be deleted")
    finally:
        assert second.terminate() == 0
    assert "end job-1 1" not in effects.read_text()  # the killed attempt never finished
