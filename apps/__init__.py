"""One package per SaaS app (Pipedream's ``components/<app>/``, n8n's ``nodes/<Service>/``).

``apps/<app>/__init__.py`` declares the app (base URL, auth, limits), its connections and its webhook
verifier, and stays cheap to import: the ingress path imports it. The rest of the package is loaded
by whoever needs it - the worker (models, client, actions), the local runtime (stand-in), the chaos
harness (fault and effect hooks), the tests. Nothing lists the apps: they are discovered.
"""
