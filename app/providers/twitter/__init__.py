"""X (Twitter) API v2 adapter (``app.providers.twitter:TwitterAdapter``).

``adapter`` holds the adapter (tokens, kinds, chunked media upload, posts) and the
twitter-text length rules, ``errors`` the translation of X's errors.
"""

from app.providers.twitter.adapter import MAX_WEIGHTED_LENGTH, TwitterAdapter, weighted_length

__all__ = ["MAX_WEIGHTED_LENGTH", "TwitterAdapter", "weighted_length"]
