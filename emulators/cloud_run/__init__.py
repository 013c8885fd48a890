"""A local emulator of the Cloud Run Admin API v2 Jobs and Executions services (gRPC) that runs
each task of a job execution as a local process group."""
