"""The agency workspace's pages, one room each: the URL's first word after the agency
names the room (``data`` -> ``incidents``, ``models``/``runs`` -> ``modelling``, ``forecast``
-> ``forecasts``, ``layers`` -> ``areas``, ``governance`` -> ``governance``, ``workbench``
-> ``workbench``)."""

from django.urls import include, path

urlpatterns = [
    path("", include("predictions.incidents.urls")),
    path("", include("predictions.modelling.urls")),
    path("", include("predictions.forecasts.urls")),
    path("", include("predictions.areas.urls")),
    path("", include("predictions.governance.urls")),
    path("", include("predictions.workbench.urls")),
]
