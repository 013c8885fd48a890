"""A Cloud Tasks API that does not answer: the enqueue gives up within half a second (the caller
answers ``queued``) and is retried in the background, so the task is created, and delivered,
soon after the API is back rather than when the sweeper comes (issue 18, item 8)."""

from __future__ import annotations

import time

from google.api_core.exceptions import ServiceUnavailable
from google.api_core.retry import Retry, if_exception_type
from support import eventually
from workflow_executor.adapters.cloud_tasks import CloudTasksQueue, tasks_client
from workflow_executor.errors import Transient
from workflow_executor.ports import TaskRequest
from workflow_executor.settings import Settings

from emulators import session as emulators
from emulators.cloud_tasks.server import CloudTasksEmulator
from emulators.gcp import free_port


def test_an_enqueue_while_the_api_is_down_answers_at_once_and_is_delivered_once_it_is_up(recorder) -> None:
    host = f"127.0.0.1:{free_port()}"  # nothing listens here yet: the API is down
    queue_name = f"projects/{emulators.PROJECT}/locations/here/queues/later"
    q = CloudTasksQueue(Settings(tasks_queue=queue_name, worker_url=recorder.url + "/worker",
                                 tasks_emulator_host=host, tasks_dispatch_deadline_s=120))
    started = time.monotonic()
    try:
        q.enqueue(TaskRequest("ex-late", segment=0))
        raised = False
    except Transient:
        raised = True
    took = time.monotonic() - started
    api = CloudTasksEmulator("127.0.0.1", int(host.rsplit(":", 1)[1]), min_dispatch_deadline=1.0).start()
    try:
        client = tasks_client(host)
        # the channel may still be in its reconnect backoff from the refused connections
        client.create_queue(parent=queue_name.rsplit("/queues/", 1)[0], queue={"name": queue_name},
                            retry=Retry(predicate=if_exception_type(ServiceUnavailable), timeout=10))
        client.transport.close()
        back = time.monotonic()
        [d] = eventually(lambda: recorder.deliveries, timeout=15, what="the retried task's delivery")
        assert (raised, took < 1.0, d.json()) == (True, True, {"execution_id": "ex-late", "segment": 0})
        assert time.monotonic() - back < 10
    finally:
        q.close()
        api.stop()
