"""gRPC wiring of google.cloud.tasks.v2.CloudTasks onto the TaskStore and Scheduler (raw protobuf in/out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from . import pb
from .errors import ApiError
from .scheduler import Scheduler
from .store import TaskStore

SERVICE_NAME = "google.cloud.tasks.v2.CloudTasks"


class CloudTasksServicer:
    """One method per RPC; each takes the raw request message and returns the raw response message."""

    def __init__(self, store: TaskStore, scheduler: Scheduler) -> None:
        self._store = store
        self._scheduler = scheduler

    # Queues
    def list_queues(self, request: Any) -> Any:
        queues, next_token = self._store.list_queues(
            request.parent, request.filter, request.page_size, request.page_token
        )
        return pb.ListQueuesResponse(queues=queues, next_page_token=next_token)

    def get_queue(self, request: Any) -> Any:
        return self._store.get_queue(request.name)

    def create_queue(self, request: Any) -> Any:
        return self._store.create_queue(request.parent, request.queue)

    def update_queue(self, request: Any) -> Any:
        return self._store.update_queue(request.queue, list(request.update_mask.paths))

    def delete_queue(self, request: Any) -> Any:
        self._store.delete_queue(request.name)
        return pb.Empty()

    def purge_queue(self, request: Any) -> Any:
        return self._store.purge_queue(request.name)

    def pause_queue(self, request: Any) -> Any:
        return self._store.set_queue_state(request.name, pb.QUEUE_PAUSED)

    def resume_queue(self, request: Any) -> Any:
        return self._store.set_queue_state(request.name, pb.QUEUE_RUNNING)

    # Tasks
    def list_tasks(self, request: Any) -> Any:
        tasks, next_token = self._store.list_tasks(
            request.parent, request.response_view, request.page_size, request.page_token
        )
        return pb.ListTasksResponse(tasks=tasks, next_page_token=next_token)

    def get_task(self, request: Any) -> Any:
        return self._store.get_task(request.name, request.response_view)

    def create_task(self, request: Any) -> Any:
        return self._store.create_task(request.parent, request.task, request.response_view)

    def delete_task(self, request: Any) -> Any:
        self._store.delete_task(request.name)
        return pb.Empty()

    def run_task(self, request: Any) -> Any:
        task, job = self._store.force_dispatch(request.name, request.response_view)
        self._scheduler.submit(job)
        return task


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _unary(method: Callable[[Any], Any], request_type: Any) -> grpc.RpcMethodHandler:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(request)
        except ApiError as error:
            context.abort(error.code, error.message)

    return grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=request_type.FromString, response_serializer=_serialize
    )


def generic_handler(servicer: CloudTasksServicer) -> grpc.GenericRpcHandler:
    """Handler for the RPCs the emulator implements; any other method answers UNIMPLEMENTED."""
    methods = {
        "ListQueues": _unary(servicer.list_queues, pb.ListQueuesRequest),
        "GetQueue": _unary(servicer.get_queue, pb.GetQueueRequest),
        "CreateQueue": _unary(servicer.create_queue, pb.CreateQueueRequest),
        "UpdateQueue": _unary(servicer.update_queue, pb.UpdateQueueRequest),
        "DeleteQueue": _unary(servicer.delete_queue, pb.DeleteQueueRequest),
        "PurgeQueue": _unary(servicer.purge_queue, pb.PurgeQueueRequest),
        "PauseQueue": _unary(servicer.pause_queue, pb.PauseQueueRequest),
        "ResumeQueue": _unary(servicer.resume_queue, pb.ResumeQueueRequest),
        "ListTasks": _unary(servicer.list_tasks, pb.ListTasksRequest),
        "GetTask": _unary(servicer.get_task, pb.GetTaskRequest),
        "CreateTask": _unary(servicer.create_task, pb.CreateTaskRequest),
        "DeleteTask": _unary(servicer.delete_task, pb.DeleteTaskRequest),
        "RunTask": _unary(servicer.run_task, pb.RunTaskRequest),
    }
    return grpc.method_handlers_generic_handler(SERVICE_NAME, methods)
