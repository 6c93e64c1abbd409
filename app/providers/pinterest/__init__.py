"""Pinterest API v5 adapter (``app.providers.pinterest:PinterestAdapter``).

``adapter`` holds the adapter (tokens, image and video Pins, the streamed form
upload), ``errors`` the translation of Pinterest's errors.
"""

from app.providers.pinterest.adapter import PinterestAdapter

__all__ = ["PinterestAdapter"]
