"""dashboard (placeholder until implemented)."""
