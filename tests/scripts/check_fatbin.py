#!/usr/bin/env python3
"""Checks which GPU architectures a library carries device code for.

cuobjdump is not available on the build machines, so this reads the ELF section
.nv_fatbin directly (extracted with objcopy) and walks its fat-binary container:
a 16-byte container header (magic 0xBA55ED50, version, header size, payload size)
followed by entries, each with a kind (1 = PTX, 2 = ELF cubin), a header size, a
payload size and, at byte 28 of the entry header, the SM architecture number.
Usage: check_fatbin.py LIBRARY SM [SM ...]   e.g.  check_fatbin.py libextract.so 80 90
Exit status 0 when a cubin exists for every requested SM, 1 otherwise.
"""
import os
import struct
import subprocess
import sys
import tempfile

MAGIC = 0xBA55ED50


def fatbin_entries(blob):
    entries = []
    offset = 0
    while offset + 16 <= len(blob):
        magic, _version, header_size, fat_size = struct.unpack_from("<IHHQ", blob, offset)
        if magic != MAGIC:
            offset += 8  # containers are 8-byte aligned; skip padding
            continue
        pos = offset + header_size
        end = pos + fat_size
        while pos + 32 <= end:
            kind, _unk, entry_header, size = struct.unpack_from("<HHIQ", blob, pos)
            arch = struct.unpack_from("<I", blob, pos + 28)[0]
            entries.append((kind, arch))
            if entry_header == 0:
                break
            pos += entry_header + size
        offset = end
    return entries


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    # CMake architecture entries may carry suffixes ("80-real"): keep the number.
    library = sys.argv[1]
    wanted = [int(v.split("-")[0]) for arg in sys.argv[2:] for v in arg.split(";") if v]
    with tempfile.TemporaryDirectory() as tmp:
        section = os.path.join(tmp, "fatbin")
        result = subprocess.run(["objcopy", "--dump-section", ".nv_fatbin=" + section, library, os.path.join(tmp, "copy")],
                                capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(section):
            print(f"{library}: no .nv_fatbin section ({result.stderr.strip()})")
            return 1
        with open(section, "rb") as fh:
            entries = fatbin_entries(fh.read())
    cubins = sorted({arch for kind, arch in entries if kind == 2})
    ptx = sorted({arch for kind, arch in entries if kind == 1})
    print(f"{library}: cubins for sm {cubins}, PTX for compute {ptx}")
    missing = [sm for sm in wanted if sm not in cubins]
    if missing:
        print(f"missing device code for sm {missing}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
