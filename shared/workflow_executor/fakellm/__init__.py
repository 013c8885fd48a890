"""A local OpenAI-compatible model (``wfx fake-llm``): deterministic replies, for the LLM examples
offline and for the tests. Nothing here is used by the engine itself."""
