"""Connecting accounts: the browser flow that turns a user's consent at a provider into an identity.

``views`` (routes), ``flows`` (per-provider OAuth), ``state`` (flow state, cookie,
connection tokens), ``services`` (identity upsert), ``cli`` (callback URL admin).
"""
