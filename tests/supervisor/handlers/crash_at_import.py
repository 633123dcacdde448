"""Test worker that crashes before it ever takes a job (exit 1 at import)."""

import sys

sys.exit(1)
