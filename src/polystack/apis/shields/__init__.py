"""The Shields API: shields as resources (Llama Stack's), served by the safety API's routing table."""
