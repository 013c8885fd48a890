"""Raw protobuf classes behind the proto-plus wrappers of google.cloud.run_v2 (what goes on the wire)."""

from __future__ import annotations

from google.cloud.run_v2 import types
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, duration_pb2, empty_pb2, timestamp_pb2
from google.rpc import status_pb2

Job = types.Job.pb()
Execution = types.Execution.pb()
ExecutionReference = types.ExecutionReference.pb()
Condition = types.Condition.pb()
EnvVar = types.EnvVar.pb()

CreateJobRequest = types.CreateJobRequest.pb()
GetJobRequest = types.GetJobRequest.pb()
ListJobsRequest = types.ListJobsRequest.pb()
ListJobsResponse = types.ListJobsResponse.pb()
DeleteJobRequest = types.DeleteJobRequest.pb()
RunJobRequest = types.RunJobRequest.pb()
GetExecutionRequest = types.GetExecutionRequest.pb()
ListExecutionsRequest = types.ListExecutionsRequest.pb()
ListExecutionsResponse = types.ListExecutionsResponse.pb()
CancelExecutionRequest = types.CancelExecutionRequest.pb()

Operation = operations_pb2.Operation
GetOperationRequest = operations_pb2.GetOperationRequest
WaitOperationRequest = operations_pb2.WaitOperationRequest
Any = any_pb2.Any
Duration = duration_pb2.Duration
Timestamp = timestamp_pb2.Timestamp
Status = status_pb2.Status
Empty = empty_pb2.Empty

CONDITION_SUCCEEDED = types.Condition.State.CONDITION_SUCCEEDED.value
CONDITION_FAILED = types.Condition.State.CONDITION_FAILED.value
CONDITION_PENDING = types.Condition.State.CONDITION_PENDING.value
REASON_NON_ZERO_EXIT = types.Condition.ExecutionReason.NON_ZERO_EXIT_CODE.value
REASON_CANCELLED = types.Condition.ExecutionReason.CANCELLED.value
REASON_CANCELLING = types.Condition.ExecutionReason.CANCELLING.value
SEVERITY_ERROR = types.Condition.Severity.ERROR.value
SEVERITY_INFO = types.Condition.Severity.INFO.value
STATUS_SUCCEEDED = types.ExecutionReference.CompletionStatus.EXECUTION_SUCCEEDED.value
STATUS_FAILED = types.ExecutionReference.CompletionStatus.EXECUTION_FAILED.value
STATUS_RUNNING = types.ExecutionReference.CompletionStatus.EXECUTION_RUNNING.value
STATUS_CANCELLED = types.ExecutionReference.CompletionStatus.EXECUTION_CANCELLED.value
