"""The Conversations API (OpenAI's /v1/conversations): conversations and their items, served by the stack."""
