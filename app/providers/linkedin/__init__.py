"""LinkedIn Posts and Images APIs adapter (``app.providers.linkedin:LinkedInAdapter``).

``adapter`` holds the adapter (tokens, posts, the picture upload) and the "little text" escaping.
"""

from app.providers.linkedin.adapter import (
    LinkedInAdapter,
    escape_little_text,
    seconds_until_utc_midnight,
    translate_error,
)

__all__ = ["LinkedInAdapter", "escape_little_text", "seconds_until_utc_midnight", "translate_error"]
