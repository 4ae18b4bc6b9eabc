"""Remote safety providers: shields backed by a vendor's moderation or guardrails service."""
