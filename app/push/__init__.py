"""Push requests: the endpoint table, body validation, acceptance and enqueueing."""
