"""stream (placeholder until implemented)."""
