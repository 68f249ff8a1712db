"""`python -m osvi_integrations.mcp_server`: same as `osvi-mcp`."""

from .cli import main

main()
