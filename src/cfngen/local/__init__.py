"""The embedded AWS emulator (moto in server mode) behind ``cfngen local-aws`` and ``deploy --local``.

It stands beside the deployer, not in the data flow: the deployer talks to it
as it would to AWS. Its corrections to moto (:mod:`cfngen.local.patches`, one
per module) apply only when an emulator starts, never on import.
"""

from cfngen.local._emulator import (
    ATTRIBUTE_REASON,
    EMULATOR_FAILURE,
    EMULATOR_FAILURE_MESSAGE,
    FAKE_CREDENTIALS,
    LOOPBACK,
    POLL_S,
    LocalAws,
    environment,
    require_moto,
    stand_ins,
    summary,
)

__all__ = [
    "ATTRIBUTE_REASON",
    "EMULATOR_FAILURE",
    "EMULATOR_FAILURE_MESSAGE",
    "FAKE_CREDENTIALS",
    "LOOPBACK",
    "POLL_S",
    "LocalAws",
    "environment",
    "require_moto",
    "stand_ins",
    "summary",
]
