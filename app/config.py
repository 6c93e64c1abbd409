"""The one place that reads the environment.

Every setting is a ``PUSHWIRE_<NAME>`` environment variable (see the README's
configuration table). ``Settings()`` reads them; tests and factories pass a
``Settings`` object explicitly, so nothing else in the code base looks at
``os.environ``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Typed configuration with defaults that run without any server."""

    model_config = SettingsConfigDict(env_prefix="PUSHWIRE_", extra="ignore")

    # Where local state lives in the embedded default (SQLite, broker, staging).
    data_dir: Path = Path("var")

    database_url: str = ""  # default: sqlite:///<data_dir>/pushwire.sqlite
    database_pool_size: int = 10  # connections kept per process
    database_max_overflow: int = 10  # extra connections a process may open under load
    database_pool_recycle: int = 300  # seconds before a pooled connection is replaced

    broker_url: str = ""  # default: kombu's SQLAlchemy transport on a SQLite file
    broker_key_prefix: str = ""  # Redis brokers: prefix every key (several installations on one Redis)
    redis_url: str = ""  # optional; rate limits and stream fan-out use it when set

    staging_url: str = ""  # s3://bucket/prefix or file:///path; default file://<data_dir>/staging
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_create_bucket: bool = False
    staging_chunk_size: int = 8 * 1024 * 1024

    # Comma-separated Fernet-style secrets; the first encrypts, all decrypt (rotation).
    secret_key: str = ""

    # Provider API base URLs (configurable so the sandbox fakes can stand in).
    # -- twitter settings --
    twitter_api_url: str = "https://api.x.com"
    twitter_client_id: str = ""
    twitter_client_secret: str = ""
    # -- end twitter settings --
    # -- facebook settings --
    facebook_api_url: str = "https://graph.facebook.com"  # every call, video uploads included
    facebook_graph_version: str = "v27.0"  # Graph API version in every path; each lives about 2 years
    facebook_app_id: str = ""
    facebook_client_id: str = ""
    facebook_client_secret: str = ""
    facebook_poll_max: float = 15.0  # longest wait (s) between video status polls (they start at 1 s, doubling)
    facebook_processing_timeout: float = 3600.0  # give up (and retry later) when a video is processing longer
    # -- end facebook settings --
    # -- linkedin settings --
    linkedin_api_url: str = "https://api.linkedin.com"
    linkedin_oauth_url: str = "https://www.linkedin.com"
    linkedin_version: str = "202608"  # LinkedIn-Version header (YYYYMM, a published one); lives ~12 months, then 426
    linkedin_company_posting: bool = False  # ask for organization scopes at connect (needs Community Management API)
    linkedin_client_id: str = ""
    linkedin_client_secret: str = ""
    # -- end linkedin settings --
    # -- pinterest settings --
    pinterest_api_url: str = "https://api.pinterest.com"
    pinterest_client_id: str = ""
    pinterest_client_secret: str = ""
    pinterest_poll_interval: float = 2.0  # seconds between GET /v5/media/{id} polls while a video processes
    pinterest_processing_timeout: float = 300.0  # give up waiting for video processing after this many seconds
    # -- end pinterest settings --
    # -- youtube settings --
    youtube_api_url: str = "https://www.googleapis.com"
    youtube_token_url: str = "https://oauth2.googleapis.com/token"
    youtube_client_id: str = ""
    youtube_client_secret: str = ""
    youtube_chunk_size: int = 8 * 1024 * 1024  # resumable chunk; clamped to a multiple of 256 KiB
    youtube_poll_interval: float = 5.0  # first wait (s) between videos.list polls; doubles up to youtube_poll_max
    youtube_poll_max: float = 60.0  # longest wait (s) between polls: each one costs quota from the shared pool
    youtube_processing_timeout: float = 3600.0  # give up waiting for processing after this (retried later)
    # -- end youtube settings --
    # -- connect settings --
    # Public base URL of the gateway for provider redirects: required (the connect flow refuses
    # without it), except on the embedded default reached at 127.0.0.1/localhost.
    connect_base_url: str = ""
    connect_state_max: int = 256  # longest `state` a site may pass through the connect flow
    connect_rate_limit: str = "20/60"  # connect flows started per client IP and per site per window
    connect_flow_ttl: float = 600.0  # seconds a user has at the provider's authorization page
    connect_token_ttl: float = 600.0  # seconds a connection_token stays readable (once)
    twitter_authorize_url: str = "https://x.com/i/oauth2/authorize"
    facebook_authorize_url: str = "https://www.facebook.com/v27.0/dialog/oauth"
    linkedin_authorize_url: str = "https://www.linkedin.com/oauth/v2/authorization"
    pinterest_authorize_url: str = "https://www.pinterest.com/oauth/"
    youtube_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    # -- end connect settings --

    # Hosts/CIDRs exempt from the private-address block on outbound requests.
    outbound_allow: str = ""
    outbound_connect_timeout: float = 10.0
    outbound_read_timeout: float = 60.0
    # -- outbound bounds settings --
    # A source download (video_url, pictures) ends as source_too_slow when fewer than
    # download_min_bytes arrive in any download_rate_window seconds, or when it outlives
    # download_deadline_base + (size limit / download_deadline_speed) seconds.
    download_min_bytes: int = 256 * 1024
    download_rate_window: float = 60.0
    download_deadline_base: float = 120.0
    download_deadline_speed: float = 512 * 1024
    # -- end outbound bounds settings --

    # Pipeline behaviour.
    twitter_chunk_size: int = 4 * 1024 * 1024
    max_stage_retries: int = 8
    max_redeliveries: int = 5  # a stage whose worker died this many times fails (poison message)
    retry_backoff_base: float = 2.0
    retry_backoff_max: float = 600.0
    callback_timeout: float = 15.0  # the whole delivery attempt (connect, answer's first 4 KB), not per read
    callback_schedule: str = "0,5,300,1800,7200,18000,36000,50400,72000,86400"
    sweep_interval: float = 30.0
    requeue_after: float = 120.0
    heartbeat_interval: float = 10.0  # seconds between a running stage's liveness writes
    attempt_lease: float = 45.0  # a running attempt whose heartbeat is older than this is presumed dead
    stall_after: float = 900.0  # a request with no activity this long is re-enqueued by the sweeper
    park_after: float = 60.0  # a wait longer than this is parked in the database (state waiting), not a broker countdown
    schedule_horizon: float = 366 * 86400.0  # latest publish_at accepted, seconds ahead
    sync_wait_seconds: float = 5.0
    max_body_bytes: int = 1024 * 1024
    site_rate_limit: str = "1200/60"  # API requests per site per window ("count/seconds"; empty: off)
    identity_rate_limit: str = "60/60"  # provider calls per identity per window, fleet-wide
    provider_rate_limit: str = "3000/60"  # provider calls per provider per window, fleet-wide
    log_json: bool = False
    # -- transcode settings --
    transcode_dir: str = ""  # temporary files of the transcode stage; default <system temp>/pushwire-transcode
    transcode_preset: str = "veryfast"  # x264 preset of the transcode stage
    transcode_threads: int = 0  # x264 threads per encode (0: FFmpeg decides); see the README's fleet tuning
    transcode_cpu_factor: float = 20.0  # an encode may use this many CPU seconds per second of video
    # -- end transcode settings --

    # -- stream settings --
    stream_keepalive: float = 30.0  # seconds between keep-alive lines on an idle stream
    stream_queue_size: int = 1000  # events buffered per connection before it is dropped as too slow
    stream_max_attempts: int = 30  # connection attempts per IP per window before a ban
    stream_attempt_window: float = 60.0
    stream_ban_seconds: float = 300.0
    stream_trust_forwarded: bool = False  # take the client IP from X-Forwarded-For (behind a proxy)
    stream_poll_interval: float = 0.5  # DB tailer period when no Redis is configured
    stream_replay_limit: int = 10000  # most events one ``since`` replay sends
    stream_retention_days: float = 7.0  # events older than this are pruned
    stream_watch_days: float = 7.0  # videos younger than this are polled for comments / existence
    stream_comment_interval: float = 60.0
    stream_exists_interval: float = 900.0
    stream_expiry_interval: float = 600.0
    stream_twitter_media_ttl: float = 86400.0  # X drops unattached media after 24 h
    stream_send_timeout: float = 30.0  # a consumer that takes longer to accept one write is dropped
    stream_max_per_key: int = 4  # open streams per stream key per process (replaced ones until they end)
    stream_max_per_ip: int = 20  # open streams per client IP per process
    stream_enabled: bool = True  # false: this process refuses /stream/api/ (the web fleet, when a stream fleet exists)
    # -- end stream settings --
    # -- ops settings --
    # "user:password" (comma-separate several): required, `pushwire flower` refuses to start without it.
    flower_basic_auth: str = ""
    flower_address: str = "127.0.0.1"  # the address Flower listens on (never published by the compose file)
    # Seconds a gateway process remembers a verified (site keys, identity) pair; 0: never.
    auth_cache_seconds: float = 5.0
    # Most pushes one gateway process writes in one transaction (group commit).
    intake_batch: int = 64
    # Celery task events on all the time; off, Flower switches them on while it watches.
    task_events: bool = False
    log_level: str = "INFO"
    # Proxies in front of the gateway whose X-Forwarded-For/-Proto/-Host are trusted (werkzeug
    # ProxyFix): 0 trusts none; 1 for one TLS-terminating proxy (dashboard cookies get Secure).
    trusted_proxies: int = 0
    readiness_timeout: float = 5.0  # seconds /readyz waits for each dependency
    shutdown_grace: float = 25.0  # seconds a SIGTERMed worker lets running tasks finish before handing them back
    # -- end ops settings --

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve()}/pushwire.sqlite"

    def resolved_broker_url(self) -> str:
        """The broker URL, defaulting to an embedded SQLite-backed kombu transport."""
        return self.broker_url or f"sqla+sqlite:///{self.data_dir.resolve()}/broker.sqlite"

    def resolved_staging_url(self) -> str:
        """The staging URL, defaulting to a local directory under data_dir."""
        return self.staging_url or f"file://{self.data_dir.resolve()}/staging"

    def callback_delays(self) -> list[float]:
        """Seconds after the first attempt at which each callback attempt is due."""
        return [float(x) for x in self.callback_schedule.split(",") if x.strip()]

    def provider_url(self, provider: str) -> str:
        """Base URL of one provider's API, without a trailing slash."""
        return str(getattr(self, f"{provider}_api_url")).rstrip("/")


def load_settings(**overrides) -> Settings:
    """Settings from the environment with explicit overrides (used by tests)."""
    return Settings(**overrides)


