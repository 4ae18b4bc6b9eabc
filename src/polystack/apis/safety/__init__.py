"""The Safety API: shields (Llama Stack's run-shield) and moderations (OpenAI's), with guardrails."""
