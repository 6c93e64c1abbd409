"""ops (placeholder until implemented)."""
