#!/usr/bin/env python3
"""`cmake --install BUILD --prefix /usr` (into a DESTDIR) puts the binary, the unit, the config
at /etc/feedmerge/feedmerge.toml and the man pages feedmerge(1) and feedmerge.toml(5) in place;
the unit runs the installed binary with the installed config, the man pages render without
warnings, the installed binary accepts the installed config, and a reinstall keeps an edited
config. Another prefix moves everything under it."""
import argparse
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    failed = []

    def check(name, ok, detail=""):
        if not ok:
            failed.append(name)
            print(f"FAIL {name}: {detail}")

    def install(destdir, prefix):
        return subprocess.run(["cmake", "--install", args.build, "--prefix", prefix],
                              env=dict(os.environ, DESTDIR=destdir), capture_output=True, text=True)

    with tempfile.TemporaryDirectory() as root:
        r = install(root, "/usr")
        check("install exits 0", r.returncode == 0, r.stdout + r.stderr)
        paths = {
            "binary": "usr/bin/feedmerge",
            "unit": "usr/lib/systemd/system/feedmerge.service",
            "config": "etc/feedmerge/feedmerge.toml",
            "feedmerge(1)": "usr/share/man/man1/feedmerge.1",
            "feedmerge.toml(5)": "usr/share/man/man5/feedmerge.toml.5",
        }
        for name, path in paths.items():
            check(f"{name} installed at /{path}", os.path.isfile(os.path.join(root, path)))
        unit = open(os.path.join(root, paths["unit"])).read()
        check("the unit runs /usr/bin/feedmerge with /etc/feedmerge/feedmerge.toml",
              "ExecStart=/usr/bin/feedmerge run --config /etc/feedmerge/feedmerge.toml" in unit)
        for page in ("feedmerge(1)", "feedmerge.toml(5)"):
            g = subprocess.run(["groff", "-man", "-ww", "-z", os.path.join(root, paths[page])],
                               capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
            check(f"{page} renders without warnings", g.returncode == 0 and g.stderr == "", g.stderr)
        c = subprocess.run([os.path.join(root, paths["binary"]), "check-config", "--config",
                            os.path.join(root, paths["config"])], capture_output=True, text=True)
        check("the installed binary accepts the installed config", c.returncode == 0, c.stdout + c.stderr)

        with open(os.path.join(root, paths["config"]), "a") as f:
            f.write("\n# edited by the operator\n")
        r = install(root, "/usr")
        check("a reinstall keeps an edited config",
              "# edited by the operator" in open(os.path.join(root, paths["config"])).read(), r.stdout)

    with tempfile.TemporaryDirectory() as root:
        r = install(root, "/opt/feedmerge")
        unit = open(os.path.join(root, "opt/feedmerge/lib/systemd/system/feedmerge.service")).read()
        check("another prefix: the unit names its binary and config",
              "ExecStart=/opt/feedmerge/bin/feedmerge run --config /opt/feedmerge/etc/feedmerge/feedmerge.toml"
              in unit, unit[:0])
        check("another prefix: the config under it",
              os.path.isfile(os.path.join(root, "opt/feedmerge/etc/feedmerge/feedmerge.toml")))

    print("install:", "ok" if not failed else f"{len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
