"""gRPC wiring of google.cloud.run.v2 Jobs and Executions and google.longrunning.Operations onto
the RunStore (raw protobuf in and out); other methods answer UNIMPLEMENTED."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from emulators.cloud_tasks.errors import ApiError

from . import pb
from .store import RunStore

MAX_WAIT_S = 60.0


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _unary(store: RunStore, name: str, method: Callable[[Any], Any], request_type: Any) -> grpc.RpcMethodHandler:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            store.check_allowed(name, getattr(request, "name", "") or getattr(request, "parent", ""))
            return method(request)
        except ApiError as error:
            context.abort(error.code, error.message)

    return grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=request_type.FromString, response_serializer=_serialize)


def handlers(store: RunStore) -> tuple[grpc.GenericRpcHandler, ...]:
    def list_jobs(r: Any) -> Any:
        return pb.ListJobsResponse(jobs=store.list_jobs(r.parent))

    def list_executions(r: Any) -> Any:
        page, token = store.list_executions(r.parent, r.page_size, r.page_token)
        return pb.ListExecutionsResponse(executions=page, next_page_token=token)

    def wait_operation(r: Any) -> Any:
        limit = r.timeout.seconds + r.timeout.nanos / 1e9 if r.HasField("timeout") else MAX_WAIT_S
        return store.wait_operation(r.name, min(limit, MAX_WAIT_S))

    jobs = {
        "CreateJob": (lambda r: store.create_job(r.parent, r.job_id, r.job), pb.CreateJobRequest),
        "GetJob": (lambda r: store.get_job(r.name), pb.GetJobRequest),
        "ListJobs": (list_jobs, pb.ListJobsRequest),
        "DeleteJob": (lambda r: store.delete_job(r.name), pb.DeleteJobRequest),
        "RunJob": (store.run_job, pb.RunJobRequest),
    }
    executions = {
        "GetExecution": (lambda r: store.get_execution(r.name), pb.GetExecutionRequest),
        "ListExecutions": (list_executions, pb.ListExecutionsRequest),
        "CancelExecution": (lambda r: store.cancel_execution(r.name), pb.CancelExecutionRequest),
    }
    operations = {
        "GetOperation": (lambda r: store.get_operation(r.name), pb.GetOperationRequest),
        "WaitOperation": (wait_operation, pb.WaitOperationRequest),
    }
    out = []
    for service, table in (("google.cloud.run.v2.Jobs", jobs), ("google.cloud.run.v2.Executions", executions),
                           ("google.longrunning.Operations", operations)):
        methods = {name: _unary(store, name, fn, req) for name, (fn, req) in table.items()}
        out.append(grpc.method_handlers_generic_handler(service, methods))
    return tuple(out)
