"""Remote tool_runtime providers: web search (Brave, Tavily, Bing) and MCP servers, one folder each."""
