"""What the test LLM server answers: the library's ``workflow_executor.fakellm.replies`` (kept
importable as ``llm_replies`` for the tests)."""

from workflow_executor.fakellm.replies import (  # noqa: F401 - re-exported for the tests
    EMBEDDING_DIMS,
    ERRORS,
    Reply,
    Responder,
    completion,
    default_reply,
    embeddings,
    hashed_embedding,
    minimal_instance,
)
