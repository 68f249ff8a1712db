"""The baseline for MCP start-up: the SDK's MCPServer with one trivial tool, over stdio."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
def echo(text: str) -> str:
    """Returns the text it is given."""
    return text


if __name__ == "__main__":
    server.run("stdio")
