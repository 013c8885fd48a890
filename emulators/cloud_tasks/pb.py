"""Raw protobuf classes behind the proto-plus wrappers of google.cloud.tasks_v2 (what goes on the wire)."""

from __future__ import annotations

from google.cloud.tasks_v2 import types
from google.protobuf import empty_pb2

# proto-plus exposes the underlying generated class through `.pb()`; the servicer works on these
# directly so no proto-plus marshalling happens on the server side.
Queue = types.Queue.pb()
RateLimits = types.RateLimits.pb()
RetryConfig = types.RetryConfig.pb()
Task = types.Task.pb()
Attempt = types.Attempt.pb()
HttpRequest = types.HttpRequest.pb()
HttpTarget = types.HttpTarget.pb()

ListQueuesRequest = types.ListQueuesRequest.pb()
ListQueuesResponse = types.ListQueuesResponse.pb()
GetQueueRequest = types.GetQueueRequest.pb()
CreateQueueRequest = types.CreateQueueRequest.pb()
UpdateQueueRequest = types.UpdateQueueRequest.pb()
DeleteQueueRequest = types.DeleteQueueRequest.pb()
PurgeQueueRequest = types.PurgeQueueRequest.pb()
PauseQueueRequest = types.PauseQueueRequest.pb()
ResumeQueueRequest = types.ResumeQueueRequest.pb()
ListTasksRequest = types.ListTasksRequest.pb()
ListTasksResponse = types.ListTasksResponse.pb()
GetTaskRequest = types.GetTaskRequest.pb()
CreateTaskRequest = types.CreateTaskRequest.pb()
DeleteTaskRequest = types.DeleteTaskRequest.pb()
RunTaskRequest = types.RunTaskRequest.pb()
Empty = empty_pb2.Empty

QUEUE_RUNNING = types.Queue.State.RUNNING.value
QUEUE_PAUSED = types.Queue.State.PAUSED.value
VIEW_BASIC = types.Task.View.BASIC.value
VIEW_FULL = types.Task.View.FULL.value
HTTP_POST = types.HttpMethod.POST.value
# Only these methods may carry a request body.
BODY_METHODS = frozenset({types.HttpMethod.POST.value, types.HttpMethod.PUT.value, types.HttpMethod.PATCH.value})
