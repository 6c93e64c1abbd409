"""Identities: users' connected accounts and their tokens."""
