"""The adversarial suite: hostile arguments, each case run in a worker process.

A case is a plain function registered by name in one of this package's test
modules (see :mod:`adversarial.harness`). The session's worker process runs
it and reports what happened (the exception, the return value, whether every
argument was left as it was); a crash, an abort or a hang fails that case
alone, and a fresh worker takes the next one.
"""
