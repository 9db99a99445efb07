"""Celery settings for mxit-tasks (filled in by the tasks issue)."""
