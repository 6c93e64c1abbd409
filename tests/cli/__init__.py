"""Tests of the cli work."""
