"""Facebook Graph API adapter (Pages; the retired user-feed and group targets fail clearly).

``FacebookAdapter`` lives in ``adapter.py``; error translation in ``errors.py``;
the chunked ``upload_phase`` video upload in ``video.py``.
"""

from app.providers.facebook.adapter import FacebookAdapter

__all__ = ["FacebookAdapter"]
