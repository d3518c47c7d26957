"""The MCP server: the agent's tools for other agents, over streamable HTTP at /mcp on the
web app and over stdio (`connectus mcp`), with the same keys, roles and confirmations."""
