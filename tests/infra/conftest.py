"""Keep CDK synthesis in tests offline and quiet, as the Makefile does for ``cdk synth``.

Set before ``aws_cdk`` is first imported: the jsii runtime (a Node process) reads them when it starts.
"""

from __future__ import annotations

import os

CDK_ENV = {
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}

for _key, _value in CDK_ENV.items():
    os.environ.setdefault(_key, _value)
