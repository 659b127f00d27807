"""Stand-in for ``av.video``."""

from av._loud import module_getattr

__getattr__ = module_getattr(__name__)
