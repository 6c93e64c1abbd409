"""The YouTube Data API v3 adapter (``app.providers.youtube:YouTubeAdapter``).

``adapter`` holds the adapter (tokens, kinds, hooks), ``resumable`` the resumable
upload protocol, ``errors`` the translation of Google's errors.
"""

from app.providers.youtube.adapter import YouTubeAdapter

__all__ = ["YouTubeAdapter"]
