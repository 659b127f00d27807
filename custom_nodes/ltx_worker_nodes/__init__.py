"""LTX-Worker nodes: the ComfyUI node pack of the LTX-2 video worker.

Copy or link this folder into ``ComfyUI/custom_nodes/`` (README.md). It needs nothing beyond
ComfyUI itself (>= 0.3.75, which has the V3 node API) and registers its nodes through the V3
entry point :func:`comfy_entrypoint`.
"""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .nodes import NODES


class LTXWorkerExtension(ComfyExtension):
    """The pack's extension: lists its nodes to ComfyUI."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        """The node classes of the pack."""
        return list(NODES)


async def comfy_entrypoint() -> LTXWorkerExtension:
    """ComfyUI's V3 entry point for a node pack: the extension holding the pack's nodes."""
    return LTXWorkerExtension()
