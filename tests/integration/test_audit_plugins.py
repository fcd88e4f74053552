"""Plugin discovery on real images: each plugin convention's modules are analysed and named.

The audit must analyse what a program can load with dlopen and say why (issue 13, part 3):
nginx's dynamic module (named by ``load_module``; found by the plugin pattern, its
undefined ``ngx_*`` symbols being nginx's own exports), glibc's NSS modules (named by
nsswitch.conf), glibc's gconv modules (named by gconv-modules and gconv-modules.d/*.conf),
Cyrus SASL mechanisms and PAM modules (their libraries' directories), OpenSSL providers,
perl's XS modules. Each case checks one module's closure entry, its
note, and that the audit's text report shows it, on the fixture image that holds it.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest

from dock2uni.analyse import analyse
from dock2uni.analyse.model import Analysis
from dock2uni.audit import audit_command
from dock2uni.context import Context
from tests.groundtruth import load_image

pytestmark = [pytest.mark.fixtures]

LIB = "/usr/lib/x86_64-linux-gnu"
# fixture -> (a module it can dlopen, the start of the note that says why)
CASES = {
    "nginx": ("/usr/lib/nginx/modules/ngx_http_echo_module.so", "analysed as a plugin of"),
    # glibc 2.36 has files and dns built in; libnss_files.so.2 remains for old callers
    "getent": (f"{LIB}/libnss_files.so.2", "named in libc.so.6's strings"),
    # iconv -t EBCDIC-US: the module is named in gconv-modules-extra.conf
    "iconv": (
        f"{LIB}/gconv/EBCDIC-US.so",
        "gconv module named in gconv-modules.d/gconv-modules-extra.conf",
    ),
    "sasl": (f"{LIB}/sasl2/libscram.so.2.0.25", "SASL mechanism"),
    "pamtester": (f"{LIB}/security/pam_unix.so", "PAM module"),
    "openssl": (f"{LIB}/ossl-modules/legacy.so", "OpenSSL provider"),
    "perl": (f"{LIB}/perl-base/auto/POSIX/POSIX.so", "analysed as a plugin of /usr/bin/perl"),
}


def _analysed(name: str, cache: Path) -> Analysis:
    ctx = Context(cache_dir=cache, quiet=True)
    unpacked, spec = load_image(name, ctx)
    return analyse(unpacked, spec, ctx)


@pytest.mark.parametrize("name", sorted(CASES))
def test_plugins_are_analysed_with_their_reason(name: str, tmp_path: Path) -> None:
    """The module is in the closure as a dlopen entry with its reason, and in the report."""
    module, why = CASES[name]
    analysis = _analysed(name, tmp_path / "cache")
    entries = analysis.closure.by_path()
    assert module in entries, f"{module} not analysed; dlopen entries: " + ", ".join(
        e.path for e in analysis.closure.entries if e.role == "dlopen"
    )
    entry = entries[module]
    assert entry.role == "dlopen"
    assert (entry.note or "").startswith(why), entry.note
    text = StringIO()
    audit_command(analysis, out=text, fmt="text", fail_on="never")
    assert module.rsplit("/", 1)[-1] in text.getvalue()
