"""dock2uni's benchmark suite: measures dock2uni against real peers (not part of the tests).

Run ``python -m bench.run [NAME...]``; see docs/benchmarks.md.
"""
