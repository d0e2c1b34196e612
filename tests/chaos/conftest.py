"""The chaos run (tests/chaos/test_chaos.py) reuses the integration harness.

    CHAOS_SECONDS=60 OB_BUILD_DIR=build /usr/bin/python3 -m pytest tests/chaos -q -s

It starts its own Postgres and Redis (it restarts and kills them), so it has no
fixture in common with tests/integration/conftest.py beyond the modules."""
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))


def pytest_configure(config):
    """SIGTERM (timeout, CI cancel) becomes an interrupt, so the run still stops its processes."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
