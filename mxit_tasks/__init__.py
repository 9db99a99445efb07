"""mxit-tasks: the Mxit REST API behind a production Celery worker."""
