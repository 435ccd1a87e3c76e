#!/usr/bin/env python3
"""Checks the images packaging/build-image.sh wrote into an OCI layout:
blob digests, each image's configuration (user, entrypoint, environment),
the layer's contents against the staged tree (nothing more, nothing less,
no shell, no package manager, root-owned, no set-id bits), prints the size
and the file list, then runs each entrypoint with --version under crun as
user 65534 with a read-only root, where the machine lets crun run.

Exits 0 when every check passed (a runtime that cannot run here is
reported and skipped), 1 otherwise.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

HELPERS = ("authenticator", "synchronizer", "token-renewer")
BINDIR = "usr/local/bin"
USER = "65534:65534"
ENV = ["PATH=/usr/local/bin"]
SHELLS = ("sh", "bash", "dash", "ash", "busybox", "zsh", "ksh")
PACKAGE_TOOLS = ("apt", "apt-get", "dpkg", "apk", "rpm", "yum", "dnf",
                 "microdnf", "pip", "pip3")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def blob(layout, digest):
    algo, _, hexdigest = digest.partition(":")
    if algo != "sha256" or len(hexdigest) != 64:
        raise ValueError("unsupported digest %r" % digest)
    path = os.path.join(layout, "blobs", "sha256", hexdigest)
    with open(path, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != hexdigest:
        fail("blob %s does not match its digest" % digest)
    return data


def uncompressed(data):
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def staged_tree(root):
    """Path -> (kind, mode, link target) for everything under root."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                tree[rel] = ("link", None, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                tree[rel] = ("dir", None, None)
            else:
                tree[rel] = ("file", stat.S_IMODE(st.st_mode), None)
    return tree


def layer_tree(data):
    tree = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for m in tar.getmembers():
            name = os.path.normpath(m.name.lstrip("/"))
            if name in (".", ""):
                continue
            kind = ("link" if m.issym() else "dir" if m.isdir() else
                    "file" if m.isfile() else "other")
            tree[name] = (kind, m.mode, m.linkname or None, m.uid, m.gid,
                          m.size)
    return tree


def check_config(name, cfg, version):
    c = cfg.get("config") or {}
    entry = ["/%s/%s" % (BINDIR, name)]
    if cfg.get("os") != "linux":
        fail("%s: os is %r, expected linux" % (name, cfg.get("os")))
    if c.get("User") != USER:
        fail("%s: user is %r, expected %s" % (name, c.get("User"), USER))
    if c.get("Entrypoint") != entry:
        fail("%s: entrypoint is %r, expected %r"
             % (name, c.get("Entrypoint"), entry))
    if c.get("Cmd"):
        fail("%s: cmd is %r, expected none" % (name, c.get("Cmd")))
    if c.get("Env") != ENV:
        fail("%s: env is %r, expected exactly %r" % (name, c.get("Env"),
                                                     ENV))
    labels = c.get("Labels") or {}
    if labels.get("org.opencontainers.image.version") != version:
        fail("%s: version label is %r, expected %s" % (
            name, labels.get("org.opencontainers.image.version"), version))
    print("%s: user %s, entrypoint %s, env %s" % (
        name, c.get("User"), " ".join(c.get("Entrypoint") or []),
        " ".join(c.get("Env") or [])))


def check_contents(tree, staged):
    extra = sorted(set(tree) - set(staged))
    missing = sorted(set(staged) - set(tree))
    if extra:
        fail("layer holds paths that were not staged: %s" % ", ".join(extra))
    if missing:
        fail("layer lacks staged paths: %s" % ", ".join(missing))
    for path, (kind, mode, target, uid, gid, _size) in sorted(tree.items()):
        base = os.path.basename(path)
        if base in SHELLS:
            fail("layer holds a shell: /%s" % path)
        if base in PACKAGE_TOOLS or path.startswith(("var/lib/dpkg",
                                                     "var/lib/apt")):
            fail("layer holds a package manager: /%s" % path)
        if uid != 0 or gid != 0:
            fail("/%s is owned by %d:%d, expected 0:0" % (path, uid, gid))
        if kind == "other":
            fail("/%s is neither file, directory nor symlink" % path)
        if kind != "link" and mode & (stat.S_ISUID | stat.S_ISGID |
                                      stat.S_IWOTH):
            fail("/%s has mode %o (set-id or world-writable)" % (path, mode))
        if path in staged and staged[path][0] != kind:
            fail("/%s is a %s in the layer, a %s when staged"
                 % (path, kind, staged[path][0]))
        if kind == "link" and staged.get(path, (None,) * 3)[2] != target:
            fail("/%s links to %r, staged as %r"
                 % (path, target, staged.get(path, (None,) * 3)[2]))
    for h in HELPERS:
        p = "%s/vault-kubernetes-%s" % (BINDIR, h)
        if tree.get(p, (None,) * 3)[:3:2] != ("link", "vault-kubernetes"):
            fail("/%s is not a link to vault-kubernetes" % p)


def check_users(root):
    with open(os.path.join(root, "etc/passwd")) as f:
        passwd = f.read().splitlines()
    with open(os.path.join(root, "etc/group")) as f:
        group = f.read().splitlines()
    if [l.split(":")[2:4] for l in passwd] != [["65534", "65534"]]:
        fail("/etc/passwd should hold only nobody (65534): %r" % passwd)
    if [l.split(":")[2] for l in group] != ["65534"]:
        fail("/etc/group should hold only group 65534: %r" % group)


def runtime_spec(rootfs, args, cfg):
    c = cfg["config"]
    uid, _, gid = c["User"].partition(":")
    return {
        "ociVersion": "1.0.2",
        "root": {"path": rootfs, "readonly": True},
        "hostname": "vk-image-check",
        "process": {
            "terminal": False,
            "user": {"uid": int(uid), "gid": int(gid)},
            "args": args,
            "env": c.get("Env", []),
            "cwd": c.get("WorkingDir") or "/",
            "noNewPrivileges": True,
            "capabilities": {k: [] for k in ("bounding", "effective",
                                             "inheritable", "permitted",
                                             "ambient")},
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts",
                                                 "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }


RUNTIMES = {"crun": ["crun", "--cgroup-manager=disabled"], "runc": ["runc"]}


def runtime_run(runtime, bundle, rootfs, args, cfg, tag):
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(runtime_spec(rootfs, args, cfg), f)
    cid = "vk-image-check-%d-%s" % (os.getpid(), tag)
    cmd = RUNTIMES[runtime]
    try:
        p = subprocess.run(cmd + ["run", "--bundle", bundle, cid],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=30)
    finally:
        subprocess.run(cmd + ["delete", "--force", cid],
                       capture_output=True)
    return p


def pick_runtime(bundle, rootfs, cfg):
    """The first installed runtime that can start the image's own loader
    on this machine, or None after printing why none can."""
    reasons = []
    for runtime in RUNTIMES:
        if shutil.which(runtime) is None:
            reasons.append("%s is not installed" % runtime)
            continue
        p = runtime_run(runtime, bundle, rootfs,
                        ["/lib64/ld-linux-x86-64.so.2", "--version"], cfg,
                        "probe")
        if p.returncode == 0:
            for r in reasons:
                print("runtime: " + r)
            return runtime
        why = (p.stderr.strip().splitlines() or
               ["exit %d" % p.returncode])[-1]
        reasons.append("%s cannot run a container here: %s" % (runtime,
                                                               why))
    print("runtime: %s; --version not run in the image" % "; ".join(reasons))
    return None


def run_in_runtime(layer, configs, version, bundle_dir):
    shutil.rmtree(bundle_dir, ignore_errors=True)
    rootfs = os.path.join(bundle_dir, "rootfs")
    os.makedirs(rootfs)
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as tar:
        tar.extractall(rootfs, numeric_owner=True)
    bundle = os.path.join(bundle_dir, "bundle")
    os.makedirs(bundle)
    first = next(iter(configs.values()))
    runtime = pick_runtime(bundle, rootfs, first)
    if runtime is None:
        shutil.rmtree(bundle_dir, ignore_errors=True)
        return
    for name, cfg in configs.items():
        args = cfg["config"]["Entrypoint"] + ["--version"]
        p = runtime_run(runtime, bundle, rootfs, args, cfg, name)
        want = "%s %s" % (name, version)
        if p.returncode != 0 or p.stdout.strip() != want:
            fail("%s --version in %s: exit %d, stdout %r, stderr %r"
                 % (name, runtime, p.returncode, p.stdout,
                    p.stderr.strip()))
        else:
            print("runtime: %s ran %s --version as %s, read-only root, no "
                  "capabilities: %s" % (runtime, name,
                                        cfg["config"]["User"],
                                        p.stdout.strip()))
    # Must fail: there is no shell to run.
    p = runtime_run(runtime, bundle, rootfs, ["/bin/sh", "-c", "true"],
                    first, "sh")
    if p.returncode == 0:
        fail("/bin/sh ran inside the image")
    else:
        print("runtime: %s refused /bin/sh -c true as expected (exit %d)"
              % (runtime, p.returncode))
    shutil.rmtree(bundle_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--staged", required=True)
    ap.add_argument("--bundle-dir", required=True)
    a = ap.parse_args()

    with open(os.path.join(a.layout, "index.json")) as f:
        index = json.load(f)
    refs = {m.get("annotations", {}).get("org.opencontainers.image.ref.name"):
            m for m in index.get("manifests", [])}
    staged = staged_tree(a.staged)
    configs = {}
    layers = set()
    layer = None
    total = 0
    counted = set()
    for h in HELPERS:
        name = "vault-kubernetes-" + h
        desc = refs.get("%s:%s" % (name, a.version))
        if desc is None:
            fail("no image %s:%s in %s" % (name, a.version, a.layout))
            continue
        manifest = json.loads(blob(a.layout, desc["digest"]))
        cfg = json.loads(blob(a.layout, manifest["config"]["digest"]))
        configs[name] = cfg
        check_config(name, cfg, a.version)
        if len(manifest["layers"]) != 1:
            fail("%s: %d layers, expected 1" % (name,
                                                len(manifest["layers"])))
        for d in [desc] + [manifest["config"]] + manifest["layers"]:
            if d["digest"] not in counted:
                counted.add(d["digest"])
                total += d["size"]
        layers.add(manifest["layers"][0]["digest"])
        layer = blob(a.layout, manifest["layers"][0]["digest"])
        diff_id = "sha256:" + hashlib.sha256(
            uncompressed(layer)).hexdigest()
        if cfg["rootfs"]["diff_ids"] != [diff_id]:
            fail("%s: diff_id does not match the layer" % name)
    if failures or layer is None:
        return 1
    if len(layers) != 1:
        fail("the three images should share one layer, found %d"
             % len(layers))

    tree = layer_tree(layer)
    check_contents(tree, staged)
    check_users(a.staged)
    unpacked = sum(t[5] for t in tree.values() if t[0] == "file")
    print("size: %d bytes compressed for all three images (one shared "
          "layer of %d bytes), %d bytes unpacked"
          % (total, len(layer), unpacked))
    print("contents (%d entries):" % len(tree))
    for path, t in sorted(tree.items()):
        if t[0] == "file":
            print("  %04o %9d /%s" % (stat.S_IMODE(t[1]), t[5], path))
        elif t[0] == "link":
            print("  link           /%s -> %s" % (path, t[2]))

    run_in_runtime(layer, configs, a.version, a.bundle_dir)
    if failures:
        print("image check: %d failure(s)" % len(failures))
        return 1
    print("image check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
