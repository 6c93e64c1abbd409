"""Test knobs several fakes' states share, as mixins for ``SandboxState`` subclasses.

* ``TokenKnobs``: ``expire_token`` / ``revoke_refresh`` for a fake whose
  ``access_tokens`` / ``refresh_tokens`` map token -> record with ``expires_at`` /
  ``state`` (X, Pinterest).
* ``MediaOutcomes``: how the next media's processing ends (``fail_next_media``,
  ``stick_next_media``, ``set_media_outcome``) (X, Pinterest). The fake has ``media``
  (id -> item with ``outcome`` and ``failure_message``), resets
  ``self._next_outcomes = deque()`` in its ``_clear()`` and sets
  ``default_failure_message``; its upload code calls ``take_next_outcome()`` once per
  media that starts processing.

List the mixins before ``SandboxState``: ``class FakeX(TokenKnobs, MediaOutcomes, SandboxState)``.
"""

from __future__ import annotations

PROCESSING_OUTCOMES = ("succeeded", "failed", "stuck")


class TokenKnobs:
    """Make issued tokens fail, as a test's knobs (KeyError for an unknown token)."""

    def expire_token(self, access_token: str) -> None:
        """Make ``access_token`` expired now (the next call with it gets 401)."""
        with self.lock:
            self.access_tokens[access_token].expires_at = self.now() - 1

    def revoke_refresh(self, refresh_token: str) -> None:
        """Make ``refresh_token`` unusable (the refresh grant answers 400)."""
        with self.lock:
            self.refresh_tokens[refresh_token].state = "revoked"


class MediaOutcomes:
    """Scripted processing outcomes: a FIFO for the next media, or per media id."""

    #: The failure message ``fail_next_media()`` uses when given none.
    default_failure_message = "The video could not be processed."

    def fail_next_media(self, message: str | None = None) -> None:
        """The next media to start processing ends ``failed`` with ``message``
        (``default_failure_message`` when None)."""
        with self.lock:
            self._next_outcomes.append(("failed", self.default_failure_message if message is None else message))

    def stick_next_media(self) -> None:
        """The next media to start processing never finishes (stays in progress)."""
        with self.lock:
            self._next_outcomes.append(("stuck", None))

    def take_next_outcome(self) -> tuple[str, str | None]:
        """``(outcome, message)`` for a media starting to process: the next scripted one,
        else ``("succeeded", None)``."""
        with self.lock:
            return self._next_outcomes.popleft() if self._next_outcomes else ("succeeded", None)

    def set_media_outcome(self, media_id: str, outcome: str, message: str | None = None) -> None:
        """Script how ``media_id``'s processing ends: succeeded, failed or stuck
        (ValueError for another outcome, KeyError for an unknown id)."""
        if outcome not in PROCESSING_OUTCOMES:
            raise ValueError(f"outcome must be one of {PROCESSING_OUTCOMES}")
        with self.lock:
            item = self.media[media_id]
            item.outcome, item.failure_message = outcome, message or item.failure_message
