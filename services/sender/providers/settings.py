"""What every adapter's configuration shares: the check that its required values are set.

Each adapter takes an explicit configuration object (a pydantic model) in its
constructor. Today the sender builds them from its settings
(`FANOUT_SENDER_<PROVIDER>__<FIELD>`); a per-account provider configuration can
build the same objects from its stored values. Nothing here has a default that
reaches a real account: credentials are empty until set.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, SecretStr


class ProviderConfig(BaseModel):
    """Base of the adapters' configurations: `required` names the values that must be set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: ClassVar[tuple[str, ...]] = ()

    def missing(self) -> list[str]:
        """The required fields that are empty."""
        unset = []
        for name in self.required:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if not value:
                unset.append(name)
        return unset
