"""policybot: cited answers on EU tech-sovereignty policy (see README.md)."""

import os

# numpy's OpenBLAS runs each matrix product on a thread per core and keeps those threads spinning after it.
# On two cores they took the cores the query embedding needed next: today's corpus answered at a warm p50 of
# 54 ms instead of 43, at twice the CPU (docs/scaling.md). Large scans split their rows across threads
# themselves (bot/dense.py). This must be set before numpy loads; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
