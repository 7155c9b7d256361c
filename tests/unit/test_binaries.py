"""The binaries check: readelf's output parsed (glibc floor, PIE, RELRO, NX, stack protector), zips read member by
member, a missing readelf, and the report's "What ships inside" with its container proof."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from shipbench import binaries, record
from shipbench.reporting import write_report

# readelf -W -h -l -d -V of a hardened program (Debian's /bin/ls, cut), with a version definition section after
# the needs: its names are what the file offers, not what it needs
HARDENED = """ELF Header:
  Type:                              DYN (Position-Independent Executable file)
Program Headers:
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  PHDR           0x000040 0x0000000000000040 0x0000000000000040 0x0002d8 0x0002d8 R   0x8
  INTERP         0x000318 0x0000000000000318 0x0000000000000318 0x00001c 0x00001c R   0x1
      [Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]
  LOAD           0x004000 0x0000000000004000 0x0000000000004000 0x015759 0x015759 R E 0x1000
  GNU_STACK      0x000000 0x0000000000000000 0x0000000000000000 0x000000 0x000000 RW  0x10
  GNU_RELRO      0x0232b0 0x00000000000232b0 0x00000000000232b0 0x000d50 0x000d50 R   0x1
Dynamic section at offset 0x23d98 contains 27 entries:
 0x000000000000001e (FLAGS)              BIND_NOW
 0x000000006ffffffb (FLAGS_1)            Flags: NOW PIE
Version needs section '.gnu.version_r' contains 2 entries:
  000000: Version: 1  File: libselinux.so.1  Cnt: 1
  0x0010:   Name: LIBSELINUX_1.0  Flags: none  Version: 4
  0x0020: Version: 1  File: libc.so.6  Cnt: 3
  0x0030:   Name: GLIBC_2.28  Flags: none  Version: 12
  0x0040:   Name: GLIBC_2.34  Flags: none  Version: 6
  0x00a0:   Name: GLIBC_2.3.4  Flags: none  Version: 5
Version definition section '.gnu.version_d' contains 2 entries:
  0x0000: Rev: 1  Flags: BASE  Index: 1  Cnt: 1  Name: GLIBC_2.99
"""
HARDENED_SYMBOLS = "    34: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND __stack_chk_fail@GLIBC_2.4 (8)\n"

# an old-style program: not PIE, no RELRO, an executable stack, no canary, needs nothing versioned
SOFT = """ELF Header:
  Type:                              EXEC (Executable file)
Program Headers:
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  INTERP         0x000318 0x0000000000400318 0x0000000000400318 0x00001c 0x00001c R   0x1
  GNU_STACK      0x000000 0x0000000000000000 0x0000000000000000 0x000000 0x000000 RWE 0x10
"""

# a shared library: PIE does not apply; partial RELRO (lazy binding)
LIBRARY = """ELF Header:
  Type:                              DYN (Shared object file)
Program Headers:
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  GNU_STACK      0x000000 0x0000000000000000 0x0000000000000000 0x000000 0x000000 RW  0x10
  GNU_RELRO      0x0232b0 0x00000000000232b0 0x00000000000232b0 0x000d50 0x000d50 R   0x1
Version needs section '.gnu.version_r' contains 1 entry:
  000000: Version: 1  File: libm.so.6  Cnt: 1
  0x0010:   Name: GLIBC_2.38  Flags: none  Version: 2
"""


def test_a_hardened_program_is_read_as_such_and_its_floor_is_the_highest_needed_glibc() -> None:
    elf = binaries.parse("bin/ls", HARDENED, HARDENED_SYMBOLS)
    assert elf.glibc == (2, 34)  # 2.34 > 2.28 > 2.3.4; the 2.99 it defines is not a need
    assert elf.executable and elf.pie and elf.relro == "full" and elf.nx and elf.canary
    assert elf.lacks == []


def test_an_unhardened_program_lacks_every_property() -> None:
    elf = binaries.parse("old", SOFT, "")
    assert elf.glibc is None and elf.executable and not elf.pie and elf.relro == "none" and not elf.nx
    assert elf.lacks == ["PIE", "full RELRO", "NX", "stack protector"]


def test_a_library_is_not_asked_to_be_pie() -> None:
    elf = binaries.parse("lib/libx.so", LIBRARY, "")
    assert not elf.executable and elf.relro == "partial" and elf.nx and elf.glibc == (2, 38)
    assert elf.lacks == ["full RELRO", "stack protector"]


def test_the_summary_names_the_floor_and_counts_what_each_file_lacks() -> None:
    summary = binaries.summarize([binaries.parse("bin/ls", HARDENED, HARDENED_SYMBOLS),
                                  binaries.parse("old", SOFT, ""), binaries.parse("lib/libx.so", LIBRARY, "")])
    assert summary["glibc_floor"] == "2.38" and summary["glibc_floor_file"] == "lib/libx.so"
    assert (summary["elf_files"], summary["executables"], summary["without_pie"]) == (3, 2, 1)
    assert summary["relro"] == {"full": 1, "partial": 1, "none": 1}
    assert (summary["without_nx"], summary["without_stack_protector"]) == (1, 2)
    assert [entry["path"] for entry in summary["weakest"]] == ["old", "lib/libx.so"]  # the weakest first


def test_a_zipapps_extension_modules_are_read_from_inside_it_and_no_name_leaves_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "app.pyz"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.writestr("site-packages/_speedups.cpython-311-x86_64-linux-gnu.so", binaries.ELF_MAGIC + b"\0" * 60)
        packed.writestr("site-packages/module.py", "print('hi')\n")
        packed.writestr("../escaped.so", binaries.ELF_MAGIC + b"\0" * 60)
    into = tmp_path / "unpacked"
    binaries._unpack_elves(archive, into)
    found = [path.relative_to(into).as_posix() for path in binaries.elf_files(into)]
    assert found == ["site-packages/_speedups.cpython-311-x86_64-linux-gnu.so"]
    assert not (tmp_path / "escaped.so").exists()


def test_without_readelf_the_check_is_skipped_with_the_command_that_installs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binaries.shutil, "which", lambda name: None)
    assert binaries.inspect(tmp_path) == {"status": "skipped",
                                          "reason": "readelf not found: sudo apt-get install binutils"}


def test_a_single_file_programs_embedded_libraries_are_read_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PyInstaller onefile is one ELF file on disk; the libraries it unpacks on every start set its floor."""
    program = tmp_path / "app"
    program.write_bytes(binaries.ELF_MAGIC + b"\0" * 60)
    monkeypatch.setattr(binaries.shutil, "which", lambda name: "/usr/bin/readelf")
    monkeypatch.setattr(binaries, "_readelf", lambda *args: LIBRARY if args[-1].endswith(".so") and "-h" in args
                        else HARDENED if "-h" in args else "")

    def embedded(into: Path) -> None:
        (into / "PySide6").mkdir()
        (into / "PySide6" / "libx.so").write_bytes(binaries.ELF_MAGIC + b"\0" * 60)

    summary = binaries.inspect(program, embedded)
    assert (summary["status"], summary["elf_files"], summary["executables"]) == ("ok", 2, 1)
    assert summary["glibc_floor_file"] == "PySide6/libx.so" and summary["glibc_floor"] == "2.38"

    def unreadable(into: Path) -> None:
        raise ValueError("ValueError: not a PyInstaller archive")

    failed = binaries.inspect(program, unreadable)
    assert failed == {"status": "failed", "reason": "the files inside app could not be read: "
                                                    "ValueError: not a PyInstaller archive"}


def _bundle(make_record: Any, portability: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    rec = make_record(strategy="pyinstaller", variant="onedir", **changes)
    rec["metrics"]["binaries"] = binaries.summarize([binaries.parse("app", HARDENED, HARDENED_SYMBOLS),
                                                     binaries.parse("_internal/libx.so", LIBRARY, "")])
    if portability is not None:
        rec["metrics"]["portability"] = portability
    return rec


def test_the_report_shows_what_ships_inside_with_the_containers_proof(tmp_path: Path, make_record: Any) -> None:
    results = tmp_path / "results"
    record.write(_bundle(make_record, {"debian-12": {"status": "failed", "reason": "./app: /lib/x86_64-linux-gnu/"
                                                     "libm.so.6: version `GLIBC_2.38' not found"},
                                       "debian-13": {"status": "ok", "startup_s": 0.4, "needs": []}}), results)
    record.write(_bundle(make_record, None, app="dl"), results)
    assert write_report([results], tmp_path / "report") == 0
    page = (tmp_path / "report" / "report.md").read_text()
    assert "## What ships inside: glibc floor, hardening, licences" in page
    # (report.md escapes Markdown in record text: \_ and \` show as _ and `)
    assert ("| pyinstaller/onedir gui py3.12 linux | – | – | 2 | 2.38 (\\_internal/libx.so) | fails on debian-12 "
            "(glibc 2.36): ./app: /lib/x86_64-linux-gnu/libm.so.6: version \\`GLIBC_2.38' not found | 1 of 1 | "
            "1 of 2 | 2 of 2 | 1 of 2 |") in page
    assert "| pyinstaller/onedir dl py3.12 linux | – | – | 2 | 2.38 (\\_internal/libx.so) | not started in a clean " \
           "container" in page


def test_what_the_target_needs_names_the_highest_glibc_floor_of_a_strategys_rows(make_record: Any) -> None:
    from shipbench.reporting.advice import qualities

    rows = [_bundle(make_record, None), make_record(strategy="pyinstaller", variant="onefile")]
    rows[1]["metrics"]["binaries"] = {"status": "ok", "glibc_floor": "2.34", "glibc_floor_file": "app"}
    rows.append(make_record(strategy="pyinstaller", variant="broken"))
    rows[2]["metrics"]["binaries"] = {"status": "ok", "glibc_floor": "2.x; rm -rf", "glibc_floor_file": "evil"}
    needs = {row[0]: row[2] for row in qualities(rows)}["pyinstaller"]
    assert needs.endswith("; glibc 2.38 or newer (its binaries' floor: _internal/libx.so, onedir)")
