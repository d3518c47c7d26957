"""What every simulator shares, one job per module.

``dataset`` (lazy seeded records, overlay, tombstones), ``sequence`` (offset
paging over them), ``tokens`` (OAuth codes and tokens), ``faults`` (the knobs),
``sandbox`` (``ProviderSandbox``: one simulator's state), ``simulator`` (the
contract a simulator package fulfils), ``people`` (seed names) and ``wire``
(timestamps, credentials, OAuth errors, webhook posting).
"""

from connectors.sandbox.kit.dataset import EPOCH, Dataset, Tombstone
from connectors.sandbox.kit.faults import Faults
from connectors.sandbox.kit.sandbox import ProviderSandbox
from connectors.sandbox.kit.simulator import Simulator
from connectors.sandbox.kit.tokens import TokenStore

__all__ = [
           "EPOCH",
           "Dataset",
           "Faults",
           "ProviderSandbox",
           "Simulator",
           "TokenStore",
           "Tombstone",
]
