"""LinkedIn Posts and Images APIs adapter (``app.providers.linkedin:LinkedInAdapter``).

``adapter`` holds the adapter (tokens, posts, the picture upload) and the "little
text" escaping, ``errors`` the translation of LinkedIn's errors.
"""

from app.providers.linkedin.adapter import LinkedInAdapter, escape_little_text
from app.providers.linkedin.errors import seconds_until_utc_midnight

__all__ = ["LinkedInAdapter", "escape_little_text", "seconds_until_utc_midnight"]
