"""The logic around the VM: acceleration detection, in-guest timing through the relay, the box cache key,
the Vagrantfile's own checks, a host without Vagrant, and how VM rows are labelled in the report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from shipbench import driver, record, vagrant_box, vm_acceleration
from shipbench.errors import Failure, UsageError
from shipbench.reporting import document, markdown
from shipbench.reporting import tables as report_tables
from shipbench.runner import run_app
from shipbench.strategies import vagrant as vagrant_strategy

RELAY = [sys.executable, "-m", "shipbench.relay", "--timeout", "120", "--"]


# --- acceleration --------------------------------------------------------------------------------------------------
def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 {flags} avx2\n", encoding="utf-8")
    return path


def test_no_kvm_device_means_software_emulation(tmp_path: Path) -> None:
    reason = vm_acceleration.static_reason(tmp_path / "kvm", _cpuinfo(tmp_path, "vmx"))
    assert reason is not None and "does not exist" in reason


def test_a_kvm_device_without_vmx_or_svm_is_not_hardware_virtualization(tmp_path: Path) -> None:
    device = tmp_path / "kvm"
    device.touch()
    reason = vm_acceleration.static_reason(device, _cpuinfo(tmp_path, "hypervisor"))
    assert reason is not None and "no vmx or svm" in reason
    assert vm_acceleration.static_reason(device, _cpuinfo(tmp_path, "vmx")) is None
    assert vm_acceleration.static_reason(device, _cpuinfo(tmp_path, "svm")) is None


def test_acceleration_can_be_chosen_but_not_misspelt() -> None:
    chosen = vm_acceleration.detect(None, None, "tcg")
    assert (chosen.mode, chosen.libvirt_driver, chosen.label) == ("tcg", "qemu", "software emulation (QEMU TCG)")
    assert vm_acceleration.detect(None, None, "kvm").libvirt_driver == "kvm"
    with pytest.raises(UsageError, match="SHIPBENCH_VM_ACCEL"):
        vm_acceleration.detect(None, None, "hvf")


def test_this_host_records_why_it_uses_what_it_uses() -> None:
    """Where the cheap checks already rule KVM out, their reason is the record's reason."""
    found = vm_acceleration.detect(None, None)
    reason = vm_acceleration.static_reason()
    if reason is not None:
        assert (found.mode, found.reason) == ("tcg", reason)
    else:
        assert found.mode == "kvm" and "booted under KVM" not in found.reason  # no kernel given: no boot probe


# --- timing inside the guest ---------------------------------------------------------------------------------------
def test_the_host_takes_the_relays_time_not_its_own_clock() -> None:
    """What the relay measured beside the app replaces the host's spawn→ready (which would include SSH)."""
    app = 'import json, time; time.sleep(0.5); print(json.dumps({"event": "ready", "spawn_to_ready_s": 0.125}))'
    run = run_app([sys.executable, "-c", app], timeout=180)
    assert run.ready_s == 0.125


def test_the_relay_times_the_app_where_it_runs() -> None:
    app = "import json, time; time.sleep(0.3); print(json.dumps({'event': 'ready', 'app': 'x'})); print('after')"
    run = run_app([*RELAY, sys.executable, "-c", app], timeout=180)
    ready = run.event("ready")
    assert ready is not None and ready["app"] == "x"
    assert 0.3 <= ready["spawn_to_ready_s"] <= run.wall_s  # timed inside the host's run, whatever the load
    assert run.ready_s == ready["spawn_to_ready_s"]
    assert "after" in run.output


def test_an_app_failing_behind_the_relay_fails_the_run_with_its_own_message() -> None:
    """A probe that fails inside the guest: the host's record gets the app's last lines, not just 'exit 1'."""
    app = "import sys; print('loading the platform plugin'); sys.exit('qt.qpa.plugin: could not load xcb')"
    with pytest.raises(Failure) as failed:
        run_app([*RELAY, sys.executable, "-c", app], timeout=180)
    tail = "\n".join(failed.value.log_tail)
    assert "could not load xcb" in tail and "relay: exit code 1" in tail


def test_the_relay_keeps_the_relays_own_python_path_from_the_app(tmp_path: Path) -> None:
    app = "import json, os; print(json.dumps({'event': 'ready', 'path': os.environ.get('PYTHONPATH')}))"
    result = subprocess.run([*RELAY, sys.executable, "-c", app], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=180, check=True)
    assert json.loads(result.stdout.splitlines()[0])["path"] is None


def test_the_relay_needs_only_the_files_copied_into_the_guest(tmp_path: Path) -> None:
    """The guest gets RELAY_FILES and nothing else of shipbench: they must be enough (standard library only;
    -S keeps site-packages, and with it the installed shipbench, out of reach)."""
    package = tmp_path / "shipbench"
    package.mkdir()
    for name in vagrant_strategy.RELAY_FILES:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "shipbench" / name, package / name)
    app = "import json; print(json.dumps({'event': 'ready'}))"
    result = subprocess.run([sys.executable, "-E", "-S", "-m", "shipbench.relay", "--", sys.executable, "-c", app],
                            capture_output=True, text=True, cwd=tmp_path, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    assert "spawn_to_ready_s" in result.stdout


# --- the box -------------------------------------------------------------------------------------------------------
def test_the_box_is_rebuilt_when_its_script_or_settings_change(tmp_path: Path) -> None:
    script = tmp_path / "build-box.sh"
    script.write_text("echo one\n", encoding="utf-8")
    first = vagrant_box.inputs_hash(script, {})
    assert vagrant_box.inputs_hash(script, {}) == first
    assert vagrant_box.inputs_hash(script, {"SUITE": "trixie"}) != first
    script.write_text("echo two\n", encoding="utf-8")
    assert vagrant_box.inputs_hash(script, {}) != first


def test_the_box_builder_refuses_without_an_output_folder() -> None:
    result = subprocess.run(["bash", str(ROOT / "vagrant" / "build-box.sh")], capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0 and "usage: build-box.sh OUT_DIR" in result.stderr


# --- a host without Vagrant ----------------------------------------------------------------------------------------
def test_without_vagrant_the_rows_are_skipped_with_the_way_to_install_it(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vagrant_strategy.shutil, "which", lambda tool: None)
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(ROOT))
    written = driver.run("vagrant", ["gui"], "3.11", results_dir=tmp_path)
    assert [r["status"] for r in written] == ["skipped"]
    assert "scripts/install-vagrant.sh" in written[0]["reason"]
    records, invalid = record.load_all([tmp_path])
    assert len(records) == 1 and not invalid


def test_a_python_the_box_does_not_have_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vagrant_strategy, "unavailable_reason", lambda: None)
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(ROOT))
    written = driver.run("vagrant", ["gui"], "3.12", results_dir=tmp_path)
    assert written[0]["status"] == "skipped" and "--python 3.11" in written[0]["reason"]


# --- the report ----------------------------------------------------------------------------------------------------
def _vm_record(make_record: Any, mode: str) -> dict[str, Any]:
    rec: dict[str, Any] = make_record(strategy="vagrant", variant="libvirt", python="3.11")
    rec["metrics"]["vm"] = {
        "acceleration": mode, "acceleration_label": vm_acceleration.LABELS[mode], "acceleration_reason": "test",
        "box_bytes": 265_000_000, "box_build_s": 94.0, "box_built_in_this_run": False,
        "up_s": {"cold": 33.8, "warm": 30.6}, "ssh_ready_s": {"cold": 23.3, "warm": None}, "provision_s": 79.6,
        "guest_boot_s": 16.0, "guest_disk_bytes": 420_000_000, "host_rss_peak_bytes": 1_790_000_000,
    }
    return rec


def test_software_emulation_is_named_wherever_a_vm_row_appears(make_record: Any, tmp_path: Path) -> None:
    records = [_vm_record(make_record, "tcg"), make_record(python="3.11")]
    for rec in records:
        record.write(rec, tmp_path)
    loaded, invalid = record.load_all([tmp_path])
    assert not invalid
    report = report_tables.build(loaded, [], [tmp_path])
    text = markdown.render(document.build(report))
    overview_row = next(line for line in text.splitlines() if line.startswith("| vagrant/libvirt"))
    assert "(software emulation)" in overview_row
    assert "## Virtual machines" in text
    vm_line = next(line for line in text.splitlines() if "| software emulation (QEMU TCG) |" in line)
    assert "265.0 MB" in vm_line and "94.0 s (cached)" in vm_line and "33.8 s / 30.6 s" in vm_line
    assert "23.3 s / –" in vm_line
    assert all("software emulation" in row.label["variant"] for table in report.tables for row in table.rows
               if row.label["strategy"] == "vagrant")


def test_a_kvm_row_is_not_marked(make_record: Any) -> None:
    rec = _vm_record(make_record, "kvm")
    assert report_tables.variant_name(rec) == "vagrant/libvirt"
    assert report_tables.vm_rows(report_tables.build([rec], [], []))[0][1] == "hardware virtualization (KVM)"


def test_a_ratio_far_below_one_keeps_its_digits() -> None:
    """Training under emulation ran at 0.00038× the host: "0.00×" would say nothing."""
    assert report_tables.fmt_ratio(0.000377) == "0.00038×"
    assert report_tables.fmt_ratio(1.234) == "1.23×"
    assert report_tables.fmt_ratio(0.5) == "0.50×"


def test_each_build_has_its_own_name_in_vagrant(tmp_path: Path) -> None:
    """Two checkouts' boxes from the same inputs differ in their keys: Vagrant must not confuse them."""
    names = []
    keys = {"one": "AAAAC3NzaC1lZDI1NTE5AAAAIOne", "two": "AAAAC3NzaC1lZDI1NTE5AAAAITwo"}
    for folder, key in ((tmp_path / name, key) for name, key in keys.items()):
        folder.mkdir()  # what build-box.sh's ssh-keygen leaves beside the box; only the public half is read
        (folder / "vagrant_ed25519.pub").write_text(f"ssh-ed25519 {key} vagrant box key\n")
        names.append(vagrant_box._name(folder, "same-inputs"))
    assert names[0] != names[1] and all(n.startswith(vagrant_box.NAME + "-") for n in names)
    assert vagrant_box._name(tmp_path / "one", "same-inputs") == names[0]


def test_the_relay_stops_a_service_beside_it_at_ready_and_times_it_there(tmp_path: Path) -> None:
    """Issue 33: a service in the VM: the host's start-up run asks the relay (SHIPBENCH_STOP_AT_READY) to stop
    the app at ready beside it; the relay says ready with its own time and ends, nothing left listening."""
    from test_runner import SERVICE, _free_port

    from shipbench import runner

    port = _free_port()
    relay = [sys.executable, "-m", "shipbench.relay", "--timeout", "120", f"--ready=port:{port}",
             "--env=SHIPBENCH_STOP_AT_READY=1", "--"]
    run = run_app([*relay, sys.executable, "-c", SERVICE, str(port)], timeout=180)
    ready = run.event("ready")
    assert ready is not None and ready["spawn_to_ready_s"] == run.ready_s
    assert not runner.port_accepts(port)
