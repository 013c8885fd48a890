"""The MCP endpoint: JSON-RPC + MCP protocol handling, the tool table, tasks and auth.

Entry points: ``http.handle`` (the Cloud Function and ``wfx serve``), ``serve.serve`` and
``auth.create_key``. Nothing here imports the ``mcp`` SDK (it is a test-side client only).
"""
