"""Cloud Run job entrypoint for isolated mode: runs the execution named by WFX_EXECUTION_ID."""

import sys

from workflow_executor.job import main

if __name__ == "__main__":
    sys.exit(main())
