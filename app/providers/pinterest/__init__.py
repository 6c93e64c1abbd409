"""Pinterest API v5 adapter (``app.providers.pinterest:PinterestAdapter``).

``adapter`` holds the adapter (tokens, image and video Pins, the streamed form upload).
"""

from app.providers.pinterest.adapter import PinterestAdapter, translate_error

__all__ = ["PinterestAdapter", "translate_error"]
