"""HTTP plumbing shared by every resource: envelopes, errors, authentication."""
