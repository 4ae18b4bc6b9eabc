"""The Agents API's runtime: agent configs mapped to Responses requests, turns streamed as Llama Stack steps."""
