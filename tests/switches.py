"""Environment switches of the test suite."""

import os


def required(variable: str) -> bool:
    """CI sets REQUIRE_WORKER / REQUIRE_BROWSER so that a missing part fails, not skips."""
    return os.environ.get(variable, "") not in ("", "0")
