"""Tests of the docs work."""
