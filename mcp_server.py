"""Launcher for the OSVI MCP server from a checkout: `python /abs/path/mcp_server.py [--sandbox]`.

Same as the `osvi-mcp` console script; handy in Claude Desktop or IDE configs.
"""

from osvi_integrations.mcp_server import main

if __name__ == "__main__":
    main()
