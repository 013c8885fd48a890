"""In-process/CLI emulator of the Google Cloud Tasks v2 gRPC API with real HTTP dispatch.

Start it with `python -m emulators.cloud_tasks` or `emulators.cloud_tasks.server.CloudTasksEmulator`.
"""
