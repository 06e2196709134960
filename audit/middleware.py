"""Records access the one access rule refused (the helpers mark the request)."""

from __future__ import annotations

from audit.events import Action
from audit.models import Outcome
from audit.recorder import record

DENIAL_ATTRIBUTE = "_access_denied"


class DeniedAccessMiddleware:
    """After the view (and its transaction) has finished, record a denial as its own event,
    so that it is kept even though the view's work was rolled back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        denial = getattr(request, DENIAL_ATTRIBUTE, None)
        if denial is not None and response.status_code in (403, 404):
            record(
                action=Action.ACCESS_DENIED,
                request=request,
                agency=denial.get("agency"),
                actor_role=denial.get("role", ""),
                outcome=Outcome.DENIED,
                details={
                    "path": request.path[:300],
                    "method": request.method,
                    "status": response.status_code,
                    "reason": denial["reason"],
                },
            )
        return response
