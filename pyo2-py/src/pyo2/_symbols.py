"""The names of the functions a shared library exports, read from its file.

Used only for ``dir(dll)``, ``help(dll)``, ``python -m pyo2 inspect`` /
``stubgen`` and to suggest close names for an unknown function: which
symbols a ``dll.NAME`` reaches is decided by their address (see
:class:`pyo2._dll._Library`). ELF (Linux, BSD) is read; on other formats
the list is empty.
"""

from __future__ import annotations

import struct

__all__ = ["CALL_PREFIX", "exported_functions"]

#: Prefix of an exported function's uniform entry point (``pyo2::abi``, "The
#: uniform entry point"): the accelerator's way in, never a function of the
#: library to list.
CALL_PREFIX = "__pyo2_call__"

_SHT_DYNSYM = 11
_STT_FUNC = 2
_STB_GLOBAL, _STB_WEAK = 1, 2


def exported_functions(path: str) -> list[str]:
    """Sorted names of the defined global functions in ``path``'s dynamic symbol table,
    but for uniform entry points (``__pyo2_call__*``)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    try:
        return sorted(n for n in _elf_functions(data) if not n.startswith(CALL_PREFIX))
    except (struct.error, IndexError, ValueError):
        return []


def _elf_functions(data: bytes) -> set[str]:
    if data[:4] != b"\x7fELF":
        return set()
    wide = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    if wide:
        shoff, shentsize, shnum = struct.unpack_from(order + "Q10xHH", data, 0x28)
        section, symbol = order + "IIQQQQIIQQ", order + "IBBHQQ"
    else:
        shoff, shentsize, shnum = struct.unpack_from(order + "I10xHH", data, 0x20)
        section, symbol = order + "IIIIIIIIII", order + "IIIBBH"
    sections = [struct.unpack_from(section, data, shoff + i * shentsize) for i in range(shnum)]
    names: set[str] = set()
    for sh in sections:
        if sh[1] != _SHT_DYNSYM:
            continue
        offset, size, link, entsize = sh[4], sh[5], sh[6], sh[9]
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize):
            fields = struct.unpack_from(symbol, data, pos)
            if wide:
                name, info, shndx = fields[0], fields[1], fields[3]
            else:
                name, info, shndx = fields[0], fields[3], fields[5]
            if info & 0xF == _STT_FUNC and info >> 4 in (_STB_GLOBAL, _STB_WEAK) and shndx != 0:
                end = data.index(b"\0", strtab + name)
                names.add(data[strtab + name : end].decode("utf-8", "replace"))
    return names
