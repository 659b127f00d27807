"""Stand-in for ``av.subtitles.stream``: the name ComfyUI imports; any use fails loudly."""

from av._loud import Loud, module_getattr

__getattr__ = module_getattr(__name__)


class SubtitleStream(Loud):
    pass
