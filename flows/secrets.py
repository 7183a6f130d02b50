"""The values channel references resolve to: environment variables, and Prefect Secret blocks
(``${prefect:block-name}``), loaded only when a rule refers to one."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

PREFIX = "prefect:"


class ChannelSecrets(Mapping[str, str]):
    """Environment variables, plus ``prefect:NAME`` keys read from Prefect Secret blocks."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        self._blocks: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if not key.startswith(PREFIX):
            return self._env[key]
        if key not in self._blocks:
            self._blocks[key] = _load_block(key[len(PREFIX) :])
        return self._blocks[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def _load_block(name: str) -> str:
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(name)  # called from sync code: the block itself
        value = block.get()  # type: ignore[union-attr]
    except (ValueError, RuntimeError) as exc:
        raise KeyError(name) from exc
    return str(value)
