"""Stand-in for ``av.container``: the name ComfyUI imports; any use fails loudly."""

from av._loud import Loud, module_getattr

__getattr__ = module_getattr(__name__)


class InputContainer(Loud):
    pass
