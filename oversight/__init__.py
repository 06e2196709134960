"""The oversight board's pages over the audit trail, and the public transparency pages.

Kept apart from ``audit`` (the trail itself: writer, chain, checkpoints, verifier), which
imports nothing of ``agencies``: these pages need both the trail and the access rule.
"""
