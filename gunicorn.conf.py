"""gunicorn settings every Pushwire gunicorn command picks up (gunicorn reads
./gunicorn.conf.py from its working directory: the repository, or /app in the image).

Only what no command line should forget: access log lines go through Pushwire's
secret redaction (stream keys in ``?token=``, magic login links), see app/logs.py.
"""

logger_class = "app.logs.GunicornLogger"
