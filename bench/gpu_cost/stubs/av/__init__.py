"""Stand-in for PyAV on the lent GPU machine: import works, any use fails loudly (see ../README.md)."""

from av._loud import module_getattr

__stub__ = True
__getattr__ = module_getattr(__name__)
