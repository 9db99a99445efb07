"""``python -m workers NAME [--concurrency N]``: exec the celery worker (or beat) for a pool."""

from __future__ import annotations

import os
import shutil
import sys

from workers import BEAT_ARGV, POOLS


def main(argv: list[str]) -> int:
    """Replace this process with the pool's celery command (signals then reach celery)."""
    if not argv or argv[0] in ("-h", "--help") or (argv[0] not in POOLS and argv[0] != "beat"):
        names = ", ".join([*POOLS, "beat"])
        print(f"usage: python -m workers NAME [--concurrency N]   (NAME: {names})")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    if argv[0] == "beat":
        command = list(BEAT_ARGV)
    else:
        overrides: dict[str, object] = {}
        if "--concurrency" in argv:
            overrides["concurrency"] = int(argv[argv.index("--concurrency") + 1])
        command = POOLS[argv[0]].argv(**overrides)
        os.environ.setdefault("MXIT_METRICS_PORT", str(POOLS[argv[0]].metrics_port))
    exe = shutil.which("celery", path=os.path.dirname(sys.executable)) or shutil.which("celery")
    if exe is None:
        print("celery is not installed in this environment", file=sys.stderr)
        return 1
    os.execv(exe, [exe, *command[1:]])
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
