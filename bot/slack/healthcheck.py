"""The container's HEALTHCHECK: ``GET /healthz`` in HTTP mode, else ``policybot --help``.

Exit status 0 when healthy. The port comes from POLICYBOT_HEALTH_PORT (default 3000).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("POLICYBOT_HEALTH_PORT", "3000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError:
        return 1
    except OSError:  # nothing listens: Socket Mode (or not started yet)
        result = subprocess.run(["policybot", "--help"], capture_output=True, timeout=20, check=False)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
