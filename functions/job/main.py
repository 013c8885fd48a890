"""Cloud Run job entrypoint for isolated mode: runs the execution named by WFX_EXECUTION_ID."""

from workflow_executor.job import run

if __name__ == "__main__":
    run()
