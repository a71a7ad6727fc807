"""Keep CDK synthesis in tests offline and quiet, as the Makefile does for ``cdk synth``; and the
synthesized apps the infrastructure tests share.

The variables are set before ``aws_cdk`` is first imported: the jsii runtime (a Node process) reads them
when it starts.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.infra.cdk_apps import Synth

CDK_ENV = {
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}

for _key, _value in CDK_ENV.items():
    os.environ.setdefault(_key, _value)


# The synthesized CDK apps of tests/infra/cdk_apps.py, once per session (each synthesis takes seconds),
# for every module that asks: test_cdk, test_template_pitfalls, test_iam.


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from tests.infra.cdk_apps import REAL_CONTEXT, synthesize

    return synthesize(tmp_path_factory.mktemp("real"), None, REAL_CONTEXT)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from tests.infra.cdk_apps import SYNTHETIC, SYNTHETIC_SETTINGS, inline_code, synthesize

    return synthesize(
        tmp_path_factory.mktemp("synthetic"), SYNTHETIC, {"settings": SYNTHETIC_SETTINGS}, code=inline_code
    )


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from tests.infra.cdk_apps import PROD_CONTEXT, SYNTHETIC, inline_code, synthesize

    return synthesize(tmp_path_factory.mktemp("prod"), SYNTHETIC, PROD_CONTEXT, code=inline_code)
