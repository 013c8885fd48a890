"""The tools agents may call and ``tool:`` steps run: the registry (``registry``), the built-in
tool types (one module each) and the MCP HTTP client (``mcp_client``)."""
