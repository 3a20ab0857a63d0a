"""OCPI 2.2.1 Locations as a local test server serves them: one location, one wrapped page."""
import json

from werkzeug import Response


def location(location_id, statuses, latitude="51.5010", longitude="-0.1420"):
    """A location with one EVSE per status, each with an evse_id ``GB*OP*E<location><n>``."""
    return {"id": location_id, "name": f"Site {location_id}", "operator": {"name": "Op"}, "parking_type": "ON_STREET",
            "coordinates": {"latitude": latitude, "longitude": longitude},
            "evses": [{"uid": f"{location_id}-{n}", "evse_id": f"GB*OP*E{location_id}{n}", "status": status,
                       "connectors": [{"id": "1", "standard": "IEC_62196_T2", "power_type": "AC_3_PHASE", "max_electric_power": 22000}]}
                      for n, status in enumerate(statuses, start=1)]}


def page(locations, next_url=None, total=None):
    """A wrapped OCPI response, with the paging headers given."""
    headers = {"X-Total-Count": str(total)} if total is not None else {}
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next"'
    body = {"data": locations, "status_code": 1000, "status_message": "Success", "timestamp": "2026-11-28T06:00:00Z"}
    return Response(json.dumps(body), headers=headers, content_type="application/json")
