"""ragsql as an MCP server (`ragsql mcp`): tools, schema resources and prompts for editors and agents."""
