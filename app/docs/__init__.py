"""docs (placeholder until implemented)."""
