"""The test suite; `python3 -m unittest tests/test_x.py` imports it as a package, so its
own directory goes on sys.path for `from helpers import ...`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
