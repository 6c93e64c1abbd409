"""Tests of the dashboard work."""
