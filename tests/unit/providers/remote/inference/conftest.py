"""Lets the test modules here import their shared helpers (native_backend.py, native_harness.py) by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
