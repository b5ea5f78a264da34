"""The report as a Jupyter notebook: the same sections, one cell each, executed by nbclient so the
saved file carries its outputs and can be re-run by anyone against the lake.

Only the public settings are written into the notebook's source; credential-bearing fields come
from the kernel's environment (``IRM_*``), exactly as for any other process.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from schemas.settings import IrmSettings

_PUBLIC = {"spark": {"conf"}, "lake": {"storage_options"}}


def build_notebook(settings: IrmSettings, section_titles: list[str]) -> nbformat.NotebookNode:
    public = json.dumps(settings.model_dump(mode="json", exclude=_PUBLIC), sort_keys=True)
    cells = [
        nbformat.v4.new_markdown_cell("# irm-2B programme report\n\nBuilt from lake tables only; re-run all cells to refresh."),
        nbformat.v4.new_code_cell(
            "import json\nfrom IPython.display import HTML, display\nfrom ledgers.report import build_sections\n"
            "from schemas.settings import IrmSettings\n"
            f"settings = IrmSettings(**json.loads({public!r}))\nsections = build_sections(settings)\n"
            "[s.title for s in sections]"),
    ]
    for i, title in enumerate(section_titles):
        cells.append(nbformat.v4.new_markdown_cell(f"## {title}"))
        cells.append(nbformat.v4.new_code_cell(f"display(HTML(sections[{i}].html()))"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write_notebook(settings: IrmSettings, path: Path, timeout_s: int = 600) -> Path:
    from ledgers.report import SECTION_ORDER

    notebook = build_notebook(settings, list(SECTION_ORDER))
    # the kernel talks over Unix sockets (no port is opened), in a private folder with a short path:
    # a socket path longer than 107 bytes cannot be bound, and a lake's report folder can be deep
    with tempfile.TemporaryDirectory(prefix="irm-kernel-") as sockets:
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "k"))
        NotebookClient(notebook, km=kernel, timeout=timeout_s, kernel_name="python3",
                       resources={"metadata": {"path": str(Path.cwd())}}).execute()
    for cell in notebook.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(notebook, str(path))
    return path
