"""The Stream API (Twitvid-compatible): ``GET|POST /stream/api/``.

``views`` answers the HTTP request; ``render`` writes JSON/XML lines; ``hub``
fans events out to the open streams of one process, fed by ``feeds`` (Redis
pub/sub or a table tailer); ``replay`` reads ``since`` resumes from the
``events`` table; ``limits`` bans IPs that connect too often; ``producers``
finds deletes and comments for the beat tasks in ``workers.stream_tasks``.
"""
