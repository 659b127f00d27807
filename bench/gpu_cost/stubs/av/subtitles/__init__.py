"""Stand-in for ``av.subtitles``."""

from av._loud import module_getattr

__getattr__ = module_getattr(__name__)
