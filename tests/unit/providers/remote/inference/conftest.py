"""Lets the test modules here import their shared fake backend (native_backend.py) by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
