"""Lets the provider test modules here import the shared contract (contract.py) by name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
