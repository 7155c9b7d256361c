"""Ship as a virtual machine: a Debian 12 guest booted by Vagrant (libvirt provider) from a box built here.

The sequence is what a team does with a VM: build the box (once; cached by its inputs), `vagrant up`, let the
provisioner install the app into a venv in the guest, then use it. To make the "cold" start the first after a
boot, as for a machine someone just switched on, the provisioned guest is halted and booted again before the
app is started. Start-up is timed inside the guest (shipbench.relay), not across SSH. The VM is destroyed at
the end whatever happened, and before the host-side venv baseline runs, so an idle guest (which still costs
CPU under software emulation) cannot slow the baseline down.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
from pathlib import Path, PurePosixPath

from .. import (
    app_files,
    docker,
    host,
    interpreters,
    licenses,
    measure,
    run_leftovers,
    settings,
    torch_source,
    vagrant_box,
    vm_acceleration,
)
from ..apps import App
from ..errors import Failure, Skip
from ..record import Key
from ..runner import output
from ..vagrant_vm import VIRSH, Machine
from .base import Artifact, Context, Defaults
from .venv import reference_venv, sbom_tool, venv_artifact

GUEST_VENV = "/home/vagrant/venv"
GUEST_SHOTS = "/tmp/shipbench-shots"
GUEST_DISPLAY = ":99"  # the Xvfb unit that vagrant/provision.sh installs
# the harness files the relay needs in the guest: standard library only
RELAY_FILES = ("__init__.py", "relay.py", "runner.py", "launcher.py", "errors.py", "fsutil.py", "settings.py",
               "import_names.py",
               "run_leftovers.py", "active_runs.py", "inject/sitecustomize.py")
GUEST_INJECT = "/vagrant/harness/shipbench/inject"
GUEST_APP = "/vagrant/app"
# Software emulation is many times slower: app timeouts are stretched by this much, and an app with a
# throughput run runs its description's quick-args instead (the figure stays a rate).
SLOWDOWN = {"kvm": 1.0, "tcg": 10.0}
_BOOT = re.compile(r"Startup finished in (.*?) = ([\d.]+)(min|s)")


def unavailable_reason() -> str | None:
    """Why no VM can be booted here, or None."""
    missing = [tool for tool in ("vagrant", "virsh", "qemu-system-x86_64", "qemu-img") if not shutil.which(tool)]
    if missing:
        return f"{', '.join(missing)} missing (scripts/install-vagrant.sh installs Vagrant, libvirt and QEMU)"
    if "vagrant-libvirt" not in (output(["vagrant", "plugin", "list"]) or ""):
        return "the vagrant-libvirt plugin is missing (apt-get install vagrant-libvirt)"
    if output([*VIRSH, "version"]) is None:
        return "libvirtd does not answer at qemu:///system (scripts/install-vagrant.sh starts it)"
    return None


class VagrantStrategy(Defaults):
    name = "vagrant"
    variants: tuple[str, ...] = ("libvirt",)
    quick_variant = "libvirt"
    # under software emulation (a host without KVM, like CI's): the box build and a boot take minutes
    rough_row_s = {"cli": 230.0, "window": 270.0, "torch": 3000.0}  # torch: not measured in full here yet
    rough_quick_s = {"cli": 210.0, "window": 245.0, "torch": 1050.0}
    summary = ("a Debian VM (12 for Python 3.11, 13 for 3.13) booted by Vagrant (libvirt, QEMU) from a box built "
               "from Debian packages")
    isolation = "its own kernel and OS"
    audiences: tuple[str, ...] = ("dev",)
    family = "virtual machine"
    target_needs = ("Vagrant with a provider (here libvirt and QEMU) and the box; hardware virtualization "
                    "(VT-x/AMD-V) for native speed")
    oses: tuple[str, ...] = ("linux",)
    ci_minutes: int = 120  # the CI job's time limit: a box built from packages, the GUI's VM up and measured

    runs_on_host = False
    inputs: tuple[str, ...] = ("vagrant",)

    def __init__(self) -> None:
        self._machines: dict[Key, Machine] = {}

    def tool_versions(self) -> dict[str, str | None]:
        return {"vagrant": _version(["vagrant", "--version"]), "libvirt": _version(["virsh", "--version"]),
                "qemu": _version(["qemu-system-x86_64", "--version"], 3)}

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        """What no VM can run here or for this app; and the quick profile answers in minutes: a VM under software
        emulation takes that for one boot."""
        if app.window_on_x:
            return (f"a {app.toolkit} window is seen on an X server, and the guest has none (the box holds no "
                    "Xvfb, and the host's display is not forwarded into it)")
        if docker.suite_for_python(key.python) is None:
            return (f"the box is built from Debian packages and its Python is Debian's own: "
                    f"{docker.no_suite_reason(key.python)}")
        if profile != "quick" or settings.vm_accel() == "kvm":
            return unavailable_reason()
            return None
        why = "vm-accel = tcg" if settings.vm_accel() == "tcg" else vm_acceleration.static_reason()
        if why is None:  # KVM may work: the quick profile boots the VM as the full one does
            return unavailable_reason()
        missing = unavailable_reason()
        then = (f"the full profile would skip it too here: {missing}" if missing else
                "the full profile (python3 noxw.py, or -s vagrant) measures it")
        return f"the quick profile runs no VM under software emulation ({why}); {then}"

    def planned_steps(self, app: App) -> int:
        # box, acceleration, up, provision, halt and up, guest facts; then the standard measurements, X11 for the
        # GUI, the host's view, destroy, the reference venv, the baseline and the licences
        return 6 + measure.standard_steps(app) + (1 if app.shows_window else 0) + 5

    def build(self, ctx: Context) -> Artifact:
        reason = self.planned_skip(ctx.app, ctx.key, "full")
        if reason:
            raise Skip(reason)
        suite = docker.suite_for_python(ctx.key.python)
        assert suite is not None  # planned_skip said so otherwise
        folder = ctx.build_dir / ctx.app.name / ("" if suite == vagrant_box.DEFAULT_SUITE else suite)
        with ctx.steps.step(f"box: reuse, or build from Debian {suite} packages"):
            box = vagrant_box.ensure(ctx.root, ctx.build_dir / ("box" if suite == vagrant_box.DEFAULT_SUITE
                                                                else f"box-{suite}"), suite=suite)
        with ctx.steps.step("acceleration: KVM or software emulation"):
            accel = vm_acceleration.detect(box.kernel, box.initrd, settings.vm_accel())
        vm = {"acceleration": accel.mode, "acceleration_label": accel.label, "acceleration_reason": accel.reason,
              "box_build_s": box.build_s, "box_built_in_this_run": box.built_now, "box_bytes": box.bytes,
              "memory_mib": settings.vm_memory_mib(), "cpus": settings.vm_cpus()}
        ctx.metrics["vm"] = vm
        ctx.versions.update(self.tool_versions())
        if not box.built_now:
            ctx.note(f"box reused from the cache ({box.path.name}, built {box.built_at} in {box.build_s:.0f} s from "
                     f"the same inputs); its build time is that build's")
        if accel.mode == "tcg":
            ctx.note(f"software emulation (QEMU TCG), not KVM: {accel.reason}. Times inside this VM are not what the "
                     "same VM does under KVM: QEMU translates every guest instruction, and vectorised maths (torch) "
                     "suffers most")
        slowdown = SLOWDOWN[accel.mode]
        machine = Machine(ctx.root / "vagrant", folder / "state", self._settings(ctx, folder, box, accel),
                          settings.vm_boot_timeout_s())
        machine.clear_leftovers()
        try:
            up_cold, provision = self._bring_up(ctx, machine, vm)
            ssh = machine.ssh()
            launcher = (*ssh, self._relayed(ctx.app, {}, slowdown))
        except BaseException:  # a failed step, Ctrl-C, SIGTERM: the VM goes either way
            vm["destroy_s"], _ = machine.destroy()
            raise
        self._machines[ctx.key] = machine
        # set-up from nothing: box build, first up, provisioning; with the box already built: up and provisioning
        ctx.metrics["setup_s"] = {"cold": box.build_s + up_cold + provision, "warm": up_cold + provision}
        ctx.metrics["download_bytes"] = box.bytes
        host_shots = run_leftovers.temp_folder("shots")
        throughput_args = None
        usual = ctx.app.throughput.args if ctx.app.throughput else ()
        quick = ctx.app.throughput.quick_args if ctx.app.throughput else None
        if accel.mode == "tcg" and quick:
            throughput_args = quick
            vm["throughput_args"] = list(quick)
            ctx.note(f"under software emulation the throughput run is the description's quick-args "
                     f"({' '.join(quick)}) instead of {' '.join(usual)}: the figure is a rate "
                     "either way, and the usual run takes many minutes per repetition under emulation")
        app = ctx.app
        return Artifact(path=box.path, kind="vagrant box", launcher=launcher,
                        description=f"{box.path.name} booted by Vagrant ({accel.label}), the app in {GUEST_VENV}",
                        share=(host_shots, GUEST_SHOTS), fetch=machine.fetch, rss_from_app=True,
                        slowdown=slowdown, throughput_args=throughput_args, shares_loopback=False,
                        with_env=lambda env: (*ssh, self._relayed(app, env, slowdown)))

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        machine = self._machines.pop(ctx.key)
        vm = ctx.metrics["vm"]
        try:
            measure.standard(ctx, artifact)
            if ctx.app.shows_window:
                ssh, app, slowdown = machine.ssh(), ctx.app, artifact.slowdown
                x11 = {"DISPLAY": GUEST_DISPLAY, "QT_QPA_PLATFORM": "xcb"}
                measure.x11(ctx, dataclasses.replace(
                    artifact, launcher=(*ssh, self._relayed(app, x11, slowdown)),
                    with_env=lambda env: (*ssh, self._relayed(app, {**x11, **env}, slowdown))),
                    f"Xvfb {GUEST_DISPLAY} in the guest")
            with ctx.steps.step("the VM as the host sees it: memory, disk"):
                memory = machine.host_memory()
                disk = machine.disk()
            vm.update(host_rss_peak_bytes=memory.get("peak_bytes"), host_rss_bytes=memory.get("current_bytes"),
                      guest_disk_bytes=disk.get("overlay_bytes"), box_image_bytes=disk.get("box_image_bytes"))
            ctx.metrics["size_bytes"] = disk.get("overlay_bytes", 0) + disk.get("box_image_bytes", 0)
        finally:
            with ctx.steps.step("vagrant destroy -f"):
                vm["destroy_s"], leftover = machine.destroy()
            if artifact.share:
                shutil.rmtree(artifact.share[0], ignore_errors=True)
        if leftover:
            raise Failure(leftover)
        with ctx.steps.step("reference venv on the host"):
            python = interpreters.find(ctx.key.python)
            if python is None:
                ctx.note(f"no Python {ctx.key.python} on the host: no same-run venv comparison")
                return
            env_dir = reference_venv(ctx, python)
        reference = venv_artifact(ctx.app, env_dir)
        measure.baseline(ctx, reference, "the same app in a venv on the host, measured after the VM was destroyed")
        # the guest's venv is gone with the VM, and cyclonedx-bom in a software-emulated guest would take minutes:
        # the licences are read from the host venv of the same requirements, and the record says so
        licenses.record(ctx, env_dir, lambda: sbom_tool(ctx))
        ctx.note("licences and SBOM: read from the host venv made from the same requirements as the guest's")

    # --- steps ------------------------------------------------------------------------------------------------
    def _bring_up(self, ctx: Context, machine: Machine, vm: dict[str, object]) -> tuple[float, float]:
        """up, provision, halt, up again; fills the life-cycle metrics, returns (first up, provisioning) seconds."""
        with ctx.steps.step("vagrant up (a new machine from the box)"):
            up_cold, ssh_cold = machine.up()
        with ctx.steps.step(f"vagrant provision (venv with {ctx.app.name} in the guest)"):
            provision = machine.provision(timeout=settings.app_timeout_s() * 20)
        with ctx.steps.step("vagrant halt, vagrant up (so the first app start is the first after a boot)"):
            vm["halt_s"] = machine.halt()
            up_warm, ssh_warm = machine.up()
        with ctx.steps.step("guest facts"):
            facts = machine.run(f"systemd-analyze; mkdir -p {GUEST_SHOTS}",
                                what="systemd-analyze in the guest")
        vm.update(up_s={"cold": up_cold, "warm": up_warm}, ssh_ready_s={"cold": ssh_cold, "warm": ssh_warm},
                  provision_s=provision)
        boot = _BOOT.search(facts)
        if boot:
            vm["guest_boot_s"] = float(boot.group(2)) * (60 if boot.group(3) == "min" else 1)
        return up_cold, provision

    def _settings(self, ctx: Context, folder: Path, box: vagrant_box.Box,
                  accel: vm_acceleration.Acceleration) -> dict[str, str]:
        """The Vagrantfile's environment variables for this app: what to sync and install, how to boot."""
        source = folder / "sync"
        shutil.rmtree(source, ignore_errors=True)
        ctx.note(app_files.copy_app(ctx.app.folder, source / "app", ctx.app.data).note())
        for name in RELAY_FILES:
            (source / "harness" / "shipbench" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ctx.root / "shipbench" / name, source / "harness" / "shipbench" / name)
        install = " ".join(shlex.quote(item) for item in ctx.app.install_items(GUEST_APP))
        values = {"APP_INSTALL": install, "SYSTEM_PACKAGES": " ".join(ctx.app.system_packages),
                  "APP_SOURCE": str(source), "BOX": box.name,
                  "BOX_KEY": str(box.key), "VM_ACCEL": accel.libvirt_driver,
                  "VM_MEMORY": str(settings.vm_memory_mib()), "VM_CPUS": str(settings.vm_cpus()),
                  "VM_NAME_PREFIX": f"shipbench-{ctx.app.name}-"}
        ca_bundle = host.ca_bundle()
        if ca_bundle:
            values["CA_BUNDLE"] = ca_bundle
        if ctx.app.uses_torch:
            wheels = folder / "wheels"
            shutil.rmtree(wheels, ignore_errors=True)
            choice, index = torch_source.stage_for_linux(settings.torch_source(), ctx.key.python, ctx.key.arch, wheels)
            ctx.versions["torch_source"] = choice.description
            if wheels.is_dir():
                values["WHEELS"] = str(wheels)
            if index:
                values["PIP_EXTRA_INDEX_URL"] = index
        return values

    def _relayed(self, app: App, env: dict[str, str], slowdown: float) -> str:
        """The remote command: the relay on the guest's Python, timing the app in the guest's venv."""
        timeout = settings.app_timeout_s() * 5 * slowdown
        app_env = {**app.environment, **measure.probe_env(app),
                   **({"PYTHONPATH": GUEST_INJECT} if app.first_frame else {}), **env}
        ready = measure.ready_signal(app).as_argument()
        options = [f"--env={name}={value}" for name, value in app_env.items()]
        command = app.command(f"{GUEST_VENV}/bin/python", f"{GUEST_VENV}/bin", GUEST_APP)
        return " ".join(shlex.quote(part) for part in [
            "python3", "-m", "shipbench.relay", "--timeout", str(timeout), f"--ready={ready}", *options,
            f"--cwd={PurePosixPath(GUEST_APP) / app.workdir}", "--",
            *command]).join(("cd /vagrant/harness && exec ", ""))


def _version(argv: list[str], index: int = -1) -> str | None:
    """One word of a tool's version line ("Vagrant 2.3.4" → "2.3.4")."""
    parts = (output(argv) or "").split()
    return parts[index] if -len(parts) <= index < len(parts) else None
