"""A forced redeploy: the same settings rolled onto a new endpoint config, for when nothing changed.

Why anyone wants it: AWS Health tells endpoint owners that instances "cannot be automatically patched" and
asks them to roll the endpoint (CreateEndpointConfig + UpdateEndpoint), which gives it new instances. With
nothing changed the planner would leave the endpoint alone; ``force-redeploy`` makes that plan an update.

Names. The action derives a config's name from its content, so that a rerun after a crash finds and reuses
what the first run made. A forced redeploy of identical content would derive the very name that serves: an
UpdateEndpoint onto the config already serving, and a cleanup that would take the serving config for the
replaced one. So a forced config's name is derived from its content *and* the name of the config it replaces.
That name is still stable across reruns (the serving config does not change until the update lands, and a
rerun that finds the update landed adopts it instead of forcing again), it differs from the serving name, and
it keeps the derived form (``<endpoint>-<12 hex>``), so cleanup and the sweep treat it as the action's own.
Each forced redeploy in a row gets a name of its own (the one before it is part of its name), and cleanup
deletes the config it replaced once the update landed.

The model is not made anew: the new config names the serving model (its derived name is content-derived too,
and the content is the same), which cleanup keeps because it still serves.
"""

from __future__ import annotations

from typing import Any

from . import builders

INPUT = "force-redeploy"
# The one entry of the `changes` output for a redeploy that the input forced: nothing else differs.
CHANGE_TO = "true"
REASON = (
    "Nothing else changed: force-redeploy rolls the endpoint onto a new endpoint config of the same settings, "
    "so SageMaker replaces its instances, as an AWS Health notice about instances that cannot be patched "
    "automatically asks"
)


def config_name(endpoint_name: str, content: dict[str, Any], replaced_config: str) -> str:
    """The name of a forced redeploy's config: from its content and the config it replaces (see above)."""
    return builders.derived_name(endpoint_name, {"EndpointConfig": content, "Replaces": replaced_config})
