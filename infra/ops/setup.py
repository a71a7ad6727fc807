"""``switchboard setup hubspot``: create the custom contact properties the integrations write.

HubSpot rejects a write that names a property the portal does not have (400
``PROPERTY_DOESNT_EXIST``), so without these every lead would go to the DLQ. The definitions live
once, in :data:`apps.hubspot.properties.CUSTOM_PROPERTIES`; this creates whichever are missing and leaves
the rest alone, so running it again is harmless.
"""

from __future__ import annotations

import json
from typing import TextIO

from apps import hubspot
from apps.hubspot.properties import CUSTOM_PROPERTIES
from infra.ops.target import CliError, Target, aws_errors
from shared.errors import RetryableError, TargetRejected

__all__ = ["setup_hubspot"]


def setup_hubspot(target: Target, out: TextIO, *, connection: str = hubspot.CONNECTION.name) -> list[str]:
    """Create the missing custom properties; returns the names created."""
    from apps.hubspot.client import HubSpotClient
    from shared.http import ApiClient

    name = target.secret_name(connection)
    with aws_errors(target, f"reading secret {name}"):
        raw = target.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    credentials = json.loads(raw or "{}")
    if not credentials.get(hubspot.APP.token_field):
        raise CliError(
            f"connection {connection} has no token yet: switchboard secrets set {connection} token=-"
        )
    client = HubSpotClient(ApiClient(hubspot.APP, credentials))
    try:
        existing = {p.name for p in client.list_properties()}
        created = []
        for definition in CUSTOM_PROPERTIES:
            if definition["name"] in existing:
                out.write(f"  exists   {definition['name']}\n")
                continue
            client.create_property(definition)
            created.append(definition["name"])
            out.write(f"  created  {definition['name']}  ({definition['label']})\n")
    except TargetRejected as exc:
        hint = {
            401: "the token is wrong or revoked",
            403: "the token lacks the crm.schemas.contacts.write scope",
        }
        raise CliError(f"HubSpot refused ({hint.get(exc.status, exc.status)}): {exc.message}") from exc
    except RetryableError as exc:
        raise CliError(f"HubSpot is unavailable, try again: {exc.message}") from exc
    out.write(f"{len(created)} created, {len(CUSTOM_PROPERTIES) - len(created)} already there\n")
    return created
