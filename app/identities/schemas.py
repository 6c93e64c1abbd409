"""Bodies of the identity endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PROVIDERS = ("facebook", "linkedin", "pinterest", "twitter", "youtube")
Short = Annotated[str, Field(max_length=500)]


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Short | None = None
    location: Short | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    profile_image_url: Annotated[str, Field(max_length=2048)] | None = None
    profile_background_image_url: Annotated[str, Field(max_length=2048)] | None = None
    num_followers: Annotated[int, Field(ge=0)] | None = None


class IdentityImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["facebook", "linkedin", "pinterest", "twitter", "youtube"]
    access_token: Annotated[str, Field(min_length=1, max_length=4096)]
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    expires_in: Annotated[int, Field(gt=0, le=10 * 365 * 86400)] | None = None
    provider_user_id: Annotated[str, Field(min_length=1, max_length=128)]
    profile: Profile = Profile()


class Synchronize(BaseModel):
    model_config = ConfigDict(extra="forbid")

    update_user_data: bool = True
    force_token_update: bool = False
