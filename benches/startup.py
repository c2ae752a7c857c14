#!/usr/bin/env python3
"""Start-up and memory benchmark: the release wizard against a bare Tauri window.

Both binaries come from one workspace (the same tauri, WebKitGTK and release profile; the bare
window is `benches/bare-window`). Each is launched with `OCTO_OIDC_READY_MARKER=1`; its page calls
the `ui_ready` command after its first frame, which prints `octo-oidc-ready` on stdout. Measured
per launch:

- time: process start -> that line (launch to first screen interactive);
- memory: after the window has settled, the resident memory of the process and every descendant
  (WebKitWebProcess, WebKitNetworkProcess, bubblewrap helpers), as the sum of PSS (shared pages
  split between the processes that map them: the fair total) and the sum of RSS (shared pages
  counted in each process: an upper bound).

Launches alternate (bare, app, bare, app, ...) after one discarded warm-up launch of each, each
with fresh, empty XDG config, data and state folders (no saved connection, no window state), and
the medians are printed with the ratios against the goals (<= 1.2x the bare window's time,
<= 1.15x its memory), and the spread of the times (min, quartiles, max: launch times on a shared
VM vary a lot). The figures are printed, not asserted: the exit status is 0 unless a launch fails.

Caches (`--caches`):

- `warm` (the default): each binary keeps one XDG cache folder for the whole run, filled by its
  warm-up launch, as a user's is from the second launch on. It holds Mesa's shader cache: with
  software GL (llvmpipe, as on this VM) WebKit's GPU painting compiles every shader program with
  LLVM on first use, and a warm cache skips that.
- `cold`: every launch gets an empty cache folder, as the very first launch on a machine does
  (every shader compiled afresh).

With `--per-process` it also prints, per kind of process (the app or bare binary,
WebKitWebProcess, WebKitNetworkProcess, ...), the medians of its PSS and of the CPU time it had
used when memory was read (user + system, all its threads): where a difference comes from.
With `--by-mapping` it also prints, per kind of process, the medians of PSS by what the memory
maps (`/proc/PID/smaps`): each shared library and the binary itself (code and data pages
touched), the heap, other anonymous memory (malloc arenas, GPU buffers of the painting, the
JavaScript JIT's code), shared memory; the two windows side by side with the difference, largest
first: what the page costs and what the binary costs.

Run it under a display, e.g. `xvfb-run -a python3 benches/startup.py --app ... --bare ...`;
`make bench-startup` builds both binaries and does that.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

MARKER = "octo-oidc-ready"
GOAL_TIME = 1.2
GOAL_MEMORY = 1.15


@dataclass
class Launch:
    seconds: float
    pss_kib: int
    rss_kib: int
    processes: int
    # kind of process -> (PSS KiB, CPU seconds); the launched binary is "main"
    per_process: dict[str, tuple[int, float]]
    # (kind of process, kind of mapping) -> PSS KiB; filled with --by-mapping only
    by_mapping: dict[tuple[str, str], int]


def children_by_parent() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                text = stat.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after the last ')'.
        fields = text[text.rindex(")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def process_tree(root: int) -> list[int]:
    tree = children_by_parent()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB, from smaps_rollup; (0, 0) if it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        return 0, 0
    return pss, rss


def mapping_kind(name: str, binary: str) -> str:
    """What one smaps line's mapping is: a library by its name without the version, the binary, or a kind of memory."""
    if name == "":
        return "anonymous"
    if name == binary:
        return "the binary"
    if name.startswith("["):
        return "anonymous" if name.startswith("[anon") else name  # [heap], [stack], [vdso], ...
    if name.startswith("/memfd:") or name.startswith("/SYSV") or name.startswith("/dev/shm/"):
        return "shared memory"
    base = os.path.basename(name.split(" (deleted)")[0])
    # libwebkit2gtk-4.1.so.0.19.9 -> libwebkit2gtk-4.1.so: one row per library across versions
    return base[: base.index(".so") + 3] if ".so" in base else base


def pss_by_mapping(pid: int, binary: str) -> dict[str, int]:
    """PSS in KiB of one process per kind of mapping (empty if it is gone)."""
    found: dict[str, int] = {}
    kind = "anonymous"
    try:
        with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as smaps:
            for line in smaps:
                head, _, rest = line.partition(" ")
                if head.endswith(":"):
                    if head == "Pss:":
                        found[kind] = found.get(kind, 0) + int(rest.split()[0])
                    continue
                # A mapping's header: range, perms, offset, device, inode, then the path if any.
                fields = line.split(None, 5)
                kind = mapping_kind(fields[5].strip() if len(fields) > 5 else "", binary)
    except OSError:
        return {}
    return found


def process_kind(pid: int, root: int) -> str:
    """"main" for the launched binary, else the kernel's (15-character) command name."""
    if pid == root:
        return "main"
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as comm:
            return comm.read().strip()
    except OSError:
        return "?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            text = stat.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[str]) -> None:
    """Ends the launched process group (the app and the WebKit processes it started)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def launch(binary: str, settle: float, timeout: float, cache: str | None, by_mapping: bool = False) -> Launch:
    """One launch with fresh XDG folders; `cache` is the XDG cache folder to keep (None: a fresh one)."""
    with tempfile.TemporaryDirectory(prefix="octo-oidc-bench-") as home:
        env = dict(os.environ)
        env["OCTO_OIDC_READY_MARKER"] = "1"
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[name] = os.path.join(home, name.lower())
        if cache is not None:
            env["XDG_CACHE_HOME"] = cache
        started = time.monotonic()
        process = subprocess.Popen(
            [binary],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            assert process.stdout is not None
            deadline = started + timeout
            buffered = ""
            while MARKER not in buffered:
                left = deadline - time.monotonic()
                if left <= 0 or process.poll() is not None:
                    raise RuntimeError(f"{binary} did not print '{MARKER}' within {timeout:.0f} s")
                ready, _, _ = select.select([process.stdout], [], [], left)
                if ready:
                    chunk = os.read(process.stdout.fileno(), 4096).decode("utf-8", "replace")
                    if chunk == "":
                        raise RuntimeError(f"{binary} closed its stdout before '{MARKER}'")
                    buffered += chunk
            seconds = time.monotonic() - started
            time.sleep(settle)
            pids = process_tree(process.pid)
            pss = rss = 0
            per_process: dict[str, tuple[int, float]] = {}
            mappings: dict[tuple[str, str], int] = {}
            binary_path = os.path.realpath(binary)  # as smaps names the main process's mapping
            for pid in pids:
                one_pss, one_rss = memory_kib(pid)
                pss += one_pss
                rss += one_rss
                kind = process_kind(pid, process.pid)
                kind_pss, kind_cpu = per_process.get(kind, (0, 0.0))
                per_process[kind] = (kind_pss + one_pss, kind_cpu + cpu_seconds(pid))
                if by_mapping:
                    for mapping, kib in pss_by_mapping(pid, binary_path).items():
                        mappings[(kind, mapping)] = mappings.get((kind, mapping), 0) + kib
            return Launch(seconds, pss, rss, len(pids), per_process, mappings)
        finally:
            stop(process)


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True, help="the release wizard binary")
    parser.add_argument("--bare", required=True, help="the release bare-window binary")
    parser.add_argument("--runs", type=int, default=5, help="measured launches of each (default 5)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after ready before memory is read")
    parser.add_argument(
        "--per-process", action="store_true", help="also print PSS and CPU medians per kind of process"
    )
    parser.add_argument(
        "--by-mapping",
        action="store_true",
        help="also print PSS medians per kind of process and kind of mapping (libraries, the binary, anonymous)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a launch may take to be ready")
    parser.add_argument(
        "--caches",
        choices=("warm", "cold"),
        default="warm",
        help="warm: each binary keeps its XDG cache folder across the run (default); cold: empty for every launch",
    )
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("no display: run this under xvfb-run (make bench-startup does)", file=sys.stderr)
        return 2
    for binary in (args.app, args.bare):
        if not os.access(binary, os.X_OK):
            print(f"not an executable: {binary}", file=sys.stderr)
            return 2

    results: dict[str, list[Launch]] = {"bare": [], "app": []}
    binaries = {"bare": args.bare, "app": args.app}
    with tempfile.TemporaryDirectory(prefix="octo-oidc-bench-caches-") as kept:
        caches = {name: os.path.join(kept, name) if args.caches == "warm" else None for name in binaries}
        for name in ("bare", "app"):
            # warm-up: the page cache, fontconfig, and with warm caches the shader cache
            launch(binaries[name], 0.2, args.timeout, caches[name])
        measure(args, binaries, caches, results)
    report(args, results)
    return 0


def measure(
    args: argparse.Namespace,
    binaries: dict[str, str],
    caches: dict[str, str | None],
    results: dict[str, list[Launch]],
) -> None:
    for run in range(args.runs):
        for name in ("bare", "app"):
            one = launch(binaries[name], args.settle, args.timeout, caches[name], args.by_mapping)
            results[name].append(one)
            print(
                f"run {run + 1}/{args.runs} {name:4}: ready {one.seconds * 1000:7.1f} ms, "
                f"PSS {one.pss_kib / 1024:6.1f} MiB, RSS {one.rss_kib / 1024:6.1f} MiB, "
                f"{one.processes} processes",
                flush=True,
            )


def report(args: argparse.Namespace, results: dict[str, list[Launch]]) -> None:
    summary = {}
    for name, launches in results.items():
        summary[name] = (
            median([l.seconds for l in launches]),
            median([l.pss_kib for l in launches]),
            median([l.rss_kib for l in launches]),
        )
    bare_t, bare_pss, bare_rss = summary["bare"]
    app_t, app_pss, app_rss = summary["app"]
    time_ratio = app_t / bare_t
    pss_ratio = app_pss / bare_pss
    rss_ratio = app_rss / bare_rss
    print()
    caches = "kept across the run (warm start)" if args.caches == "warm" else "empty for every launch (first start)"
    print(f"caches: {caches}")
    print(f"medians of {args.runs} launches each       ready (ms)   PSS (MiB)   RSS (MiB)")
    print(f"  bare Tauri window                  {bare_t * 1000:10.1f} {bare_pss / 1024:11.1f} {bare_rss / 1024:11.1f}")
    print(f"  Octopus OIDC Wizard                {app_t * 1000:10.1f} {app_pss / 1024:11.1f} {app_rss / 1024:11.1f}")
    print(
        f"  ratio (goal <= {GOAL_TIME}x time, <= {GOAL_MEMORY}x memory) {time_ratio:7.2f}x {pss_ratio:10.2f}x {rss_ratio:10.2f}x"
    )
    for name, label in (("bare", "bare Tauri window"), ("app", "Octopus OIDC Wizard")):
        times = sorted(l.seconds * 1000 for l in results[name])
        quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
        print(
            f"  {label:33} ready spread: min {times[0]:.0f}, quartiles {quartiles[0]:.0f} / "
            f"{quartiles[2]:.0f}, max {times[-1]:.0f} ms"
        )
    met = time_ratio <= GOAL_TIME and pss_ratio <= GOAL_MEMORY
    print(f"  goal {'met' if met else 'missed'} (time and PSS)")
    if args.per_process:
        print()
        print("per kind of process (medians)          PSS (MiB)   CPU (ms)")
        for name, launches in results.items():
            kinds = sorted({kind for l in launches for kind in l.per_process})
            for kind in kinds:
                pss_values = [l.per_process.get(kind, (0, 0.0))[0] for l in launches]
                cpu_values = [l.per_process.get(kind, (0, 0.0))[1] for l in launches]
                print(f"  {name:4} {kind:32} {median(pss_values) / 1024:10.1f} {median(cpu_values) * 1000:10.0f}")
    if args.by_mapping:
        report_by_mapping(results)


def report_by_mapping(results: dict[str, list[Launch]], rows: int = 8) -> None:
    """Per kind of process, the kinds of mapping whose median PSS differs most between the windows."""
    # The launched binary is "main" in both; the other kinds are WebKit's processes.
    kinds = sorted({kind for launches in results.values() for l in launches for kind, _ in l.by_mapping})
    print()
    print("PSS by mapping, medians (MiB)                         bare      app     diff")
    for kind in kinds:
        names = {m for launches in results.values() for l in launches for k, m in l.by_mapping if k == kind}
        medians = {
            m: tuple(median([l.by_mapping.get((kind, m), 0) for l in results[w]]) / 1024 for w in ("bare", "app"))
            for m in names
        }
        shown = sorted(medians.items(), key=lambda item: -abs(item[1][1] - item[1][0]))[:rows]
        for m, (bare, app) in shown:
            print(f"  {kind[:15]:15} {m[:34]:34} {bare:8.1f} {app:8.1f} {app - bare:+8.1f}")


if __name__ == "__main__":
    sys.exit(main())
