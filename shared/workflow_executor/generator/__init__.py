"""Natural language -> a validated multi-agent workflow: ``service.generate`` tries the LLM
generator (``llm``, ``plan``) when the server has a model and falls back to the offline
template generator (``template``, ``roles``, ``tasks``, ``agents``); ``shape`` holds both to
the complexity's bounds."""
