"""Remote tool_runtime providers: web search (Brave, Tavily, Bing), one folder each."""
