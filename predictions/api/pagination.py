"""Pagination of the API's lists: `limit` and `offset` as documented, or a 400.

DRF's LimitOffsetPagination silently ignores a bad `limit` or `offset` (and passes a huge
`limit` on to the database, which fails with a 500). Here both are checked against the
bounds the schema states, and anything else is refused with 400 naming the parameter.
"""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1  # far past any list; keeps the SQL OFFSET in range
_DIGITS = re.compile(r"[0-9]{1,12}")


def _bounded_int(request, name: str, default: int, low: int, high: int) -> int:
    values = request.query_params.getlist(name)
    if not values:
        return default
    value = int(values[0]) if len(values) == 1 and _DIGITS.fullmatch(values[0]) else None
    if value is None or not low <= value <= high:
        raise ValidationError({name: [f"An integer from {low} to {high}."]})
    return value


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return _bounded_int(request, self.limit_query_param, self.default_limit, 1, MAX_LIMIT)

    def get_offset(self, request):
        return _bounded_int(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Number of results to return per page (default "
                               f"{self.default_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "The initial index from which to return the results.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]
