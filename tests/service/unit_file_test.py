#!/usr/bin/env python3
"""systemd/feedmerge.service passes systemd's own checks: `systemd-analyze security` rates its
exposure at most 1.5 (--threshold=15 fails above), and `systemd-analyze verify` on a copy whose
ExecStart runs the built binary prints nothing at all (verify returns 0 even for misspelled
keys, so the output is what is checked). Also checks that the unit keeps the settings the
daemon relies on."""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--unit", required=True)
    args = ap.parse_args()
    failed = 0

    def check(name, ok, detail=""):
        nonlocal failed
        if not ok:
            failed += 1
            print(f"FAIL {name}: {detail}")

    text = open(args.unit).read()
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=15",
                               "--no-pager", args.unit], capture_output=True, text=True)
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout)
    check("security passes --threshold=15", security.returncode == 0,
          security.stdout[-800:] + security.stderr)
    check("security prints the exposure", score is not None, security.stdout[-400:])
    if score:
        print(f"exposure: {score.group(1)}")

    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, "feedmerge.service")
        binary = os.path.abspath(args.feedmerge)
        exec_lines = re.findall(r"^ExecStart=/usr/bin/feedmerge ", text, re.M)
        check("ExecStart runs /usr/bin/feedmerge", len(exec_lines) == 1, exec_lines)
        with open(copy, "w") as f:
            f.write(re.sub(r"^ExecStart=/usr/bin/feedmerge ", f"ExecStart={binary} ", text,
                           flags=re.M))
        verify = subprocess.run(["systemd-analyze", "verify", "--man=no", copy], cwd=folder,
                                capture_output=True, text=True)
        check("verify prints nothing", verify.stdout == "" and verify.stderr == "",
              verify.stdout + verify.stderr)
        check("verify exits 0", verify.returncode == 0, verify.returncode)

    settings = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
    for key, value in {"Type": "notify", "Restart": "on-failure", "DynamicUser": "yes",
                       "StateDirectory": "feedmerge", "ConfigurationDirectory": "feedmerge",
                       "CacheDirectory": "feedmerge", "ProtectSystem": "strict",
                       "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
                       "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
                       "MemoryDenyWriteExecute": "yes"}.items():
        check(f"{key}={value}", settings.get(key) == value, settings.get(key))
    check("WatchdogSec is set", bool(settings.get("WatchdogSec")))
    check("ExecReload sends SIGHUP", "-HUP $MAINPID" in settings.get("ExecReload", ""))
    check("the system call filter drops @privileged and @resources",
          "~@privileged @resources" in text)
    # Every setting is explained by the comment line right above it (or above its group).
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\w+=", line):
            j = i - 1
            while j >= 0 and re.match(r"^\w+=", lines[j]):
                j -= 1
            check(f"{line.split('=')[0]} has a comment", j >= 0 and lines[j].startswith("#"), line)
    print("unit file:", "ok" if failed == 0 else f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
