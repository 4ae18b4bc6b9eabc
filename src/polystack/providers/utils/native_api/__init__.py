"""What the adapters for vendors' own (non-OpenAI) APIs share: config, HTTP plumbing and message turns."""
