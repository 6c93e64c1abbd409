"""Secrets at rest: provider tokens encrypted with rotating keys, site keys hashed.

``PUSHWIRE_SECRET_KEY`` holds one or more comma-separated secrets. The first one
encrypts; every one decrypts, so a new key can be put in front and
``pushwire keys reencrypt`` moves old rows over before the old key is dropped.
Secrets may be Fernet keys or any passphrase (stretched with SHA-256).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretKeyError(Exception):
    """The secret key is missing or cannot decrypt a stored value."""


def _fernet(secret: str) -> Fernet:
    try:
        return Fernet(secret.encode())
    except ValueError:
        digest = hashlib.sha256(secret.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


class TokenCipher:
    """Encrypts and decrypts short secrets (provider tokens, signing secrets)."""

    def __init__(self, secret_key: str):
        keys = [k.strip() for k in secret_key.split(",") if k.strip()]
        if not keys:
            raise SecretKeyError("PUSHWIRE_SECRET_KEY is empty")
        self._multi = MultiFernet([_fernet(k) for k in keys])

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str | None) -> str | None:
        if ciphertext is None:
            return None
        try:
            return self._multi.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError("no configured secret key decrypts this value") from exc

    def rotate(self, ciphertext: str | None) -> str | None:
        """Re-encrypt with the first key (for key rotation)."""
        if ciphertext is None:
            return None
        try:
            return self._multi.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError("no configured secret key decrypts this value") from exc


def resolve_secret_key(secret_key: str, data_dir: Path) -> str:
    """The configured key, or a generated one kept in ``data_dir`` (embedded default)."""
    if secret_key:
        return secret_key
    path = data_dir / "secret.key"
    if not path.exists():
        private_dir(data_dir)
        try:
            # 0600 from creation (O_EXCL: two processes starting at once keep one key).
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def secure_data_dir(settings) -> None:
    """Keep the embedded default's files private to the service's user.

    When the database, broker or staging area (or the generated secret key) lives
    in ``PUSHWIRE_DATA_DIR``, the directory is made 0700, files already in it lose
    their group/other permissions, and the process umask gains 077 so that the
    SQLite files (and their -wal/-shm), staged media and the beat schedule are
    0600 from the moment they are created. Called when a process builds its Runtime.
    """
    root = settings.data_dir.resolve()
    uses = [settings.resolved_database_url(), settings.resolved_broker_url(), settings.resolved_staging_url()]
    if settings.secret_key and not any(str(root) in url for url in uses):
        return
    os.umask(os.umask(0o077) | 0o077)
    private_dir(settings.data_dir)
    for entry in settings.data_dir.iterdir():
        try:
            mode = entry.stat().st_mode
            if mode & 0o077:
                entry.chmod(mode & 0o700)
        except OSError:
            pass


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by its owner only (0700); tighten it if
    it exists with wider permissions. Used for the embedded default's data dir."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def new_private_key() -> str:
    """A site private key: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """Hash a high-entropy site key for storage (SHA-256 suffices for random keys)."""
    return hashlib.sha256(key.encode()).hexdigest()


def hash_stream_key(key: str) -> str:
    """What the ``sites.stream_key`` column stores: the key's SHA-256 (hex). Stream keys
    are random, so lookups hash the presented key and compare in the database."""
    return hash_key(key)


def key_matches(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with its stored hash."""
    return hmac.compare_digest(hash_key(key), stored_hash)


def new_signing_secret() -> str:
    """A Standard Webhooks secret (``whsec_`` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
