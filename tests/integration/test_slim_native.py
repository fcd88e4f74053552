"""Closure rootfs of the servers (nginx, redis), also run natively in a chroot.

Besides the booted checks (tests/boot/test_slim_boot.py, test_slim_traced.py), their
--rootfs closure trees are checked the way the audit's ground truth runs images: written
to a throwaway root and run there under strace, in fresh namespaces, with the
ground-truth workload (tests/groundtruth.py: nginx serves three requests, redis answers
its commands), which fails unless the run is complete. Needs root, strace and unshare
(need("trace")).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dock2uni.analyse import analyse
from dock2uni.audit.materialise import materialise
from dock2uni.audit.trace import can_trace
from dock2uni.context import Context
from dock2uni.fs.policy import Selection
from dock2uni.fs.tree import DirNode, Tree, split_path
from dock2uni.plan import plan
from dock2uni.slim import closure_selection
from dock2uni.support import load_support_table
from tests.conftest import need
from tests.groundtruth import WORKLOADS, Options, load_image


def slim_tree(tree: Tree, selection: Selection) -> Tree:
    """A tree holding only the selected entries (directories copied without children)."""
    out = Tree(DirNode(mode=tree.root.mode, uid=tree.root.uid, gid=tree.root.gid))
    for path, kept in selection.entries:
        if path == "/":
            continue
        *parents, name = split_path(path)
        parent = out.root
        for comp in parents:
            child = parent.children[comp]
            assert isinstance(child, DirNode), path
            parent = child
        node = kept
        if isinstance(kept, DirNode):
            node = DirNode(mode=kept.mode, uid=kept.uid, gid=kept.gid, mtime=kept.mtime)
        parent.children[name] = node
    return out


@pytest.mark.parametrize("name", ["nginx", "redis"])
def test_closure_rootfs_serves_natively(name: str, tmp_path: Path) -> None:
    if (why := can_trace()) is not None:
        need("trace", f"cannot trace here: {why}")
    ctx = Context(cache_dir=tmp_path / "cache", quiet=True)
    unpacked, spec = load_image(name, ctx)
    analysis = analyse(unpacked, spec, ctx)
    the_plan = plan(spec, load_support_table(), syscalls=None, hostname="t")
    selection = closure_selection(
        unpacked.tree, unpacked.store, spec, analysis, argv=the_plan.argv,
        exec_path=the_plan.exec_path, workdir=the_plan.workdir, uid=the_plan.uid,
    )  # fmt: skip
    slim = slim_tree(unpacked.tree, selection)
    count, size = slim.stats()
    assert size < unpacked.tree.stats()[1] // 5
    root = materialise(slim, unpacked.store, tmp_path / "root")
    assert not (root / "usr/share/doc").exists()
    runs = WORKLOADS[name](root, spec, tmp_path, Options())  # raises unless complete
    assert runs and all(r.counts for r in runs), count
