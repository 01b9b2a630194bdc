"""Dependencies every controller may ask for by name: `kefu` and `user`."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

from kefu.context import Kefu
from kefu.people.auth import provide_user


def provide_kefu(state: State) -> Kefu:
    kefu: Kefu = state.kefu
    return kefu


DEPENDENCIES: dict[str, Any] = {
    "kefu": Provide(provide_kefu, sync_to_thread=False),
    "user": Provide(provide_user),
}
