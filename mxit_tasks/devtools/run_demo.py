"""``make run``: the main job on embedded defaults (for now, the sandbox in the foreground)."""

from __future__ import annotations

import sys

from mxit_tasks.cli import main

if __name__ == "__main__":
    sys.exit(main(["sandbox", "--users", "10000"]))
