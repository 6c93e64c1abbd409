"""Request status and audit: ``/push/requests``."""
