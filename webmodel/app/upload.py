"""A file picker for scenario uploads: the browser's own file dialog (and drag and drop onto it).

Solara's ``FileDrop`` only takes drops, which some users never find; ipyvuetify's ``FileInput``
is a real ``<input type="file">``. As in Solara's ``FileDrop``, nothing is transferred until the
server reads from the file object (in chunks, from the browser), so a file over the size cap
is refused from its announced size without a byte of it crossing the wire.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import solara
import solara.hooks as hooks
from ipyvuetify.extra import FileInput


@solara.component
def ScenarioFileInput(on_file: Callable[[dict[str, Any]], None], accept: str = ".toml") -> None:
    """Calls ``on_file`` with ``{"name", "size", "file_obj"}`` (lazy) for the picked file."""
    file_info, set_file_info = solara.use_state(cast(list | None, None))
    wired, set_wired = solara.use_state(cast(list | None, None))
    picker = FileInput.element(
        on_file_info=set_file_info, multiple=False, accept=accept, show_progress=False
    )

    def wire() -> None:
        if not file_info:
            return
        widget = cast(FileInput, solara.get_widget(picker))
        widget.version += 1  # as Solara's FileDrop: re-arm the widget's observers
        widget.reset_stats()
        set_wired(widget.get_files())

    solara.use_effect(wire, [file_info])

    def handle(cancel: threading.Event) -> None:
        # In a thread: reading waits for the browser's chunks, which the event loop delivers.
        if wired:
            on_file(wired[0])

    result: solara.Result = hooks.use_thread(handle, [wired])
    if result.error:
        raise result.error
    return picker
