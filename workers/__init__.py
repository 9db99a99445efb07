"""Worker pool definitions (filled in by the tasks issue)."""
