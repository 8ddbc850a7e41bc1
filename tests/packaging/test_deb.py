"""The .deb: built from this build tree by the documented command (`cmake --build build --target
package`, which runs CPack), its control data (Depends computed by dpkg-shlibdeps must cover
every library the binary needs), its files and conffile, then installed by dpkg into a temporary
root (`dpkg --root`, maintainer scripts run with DPKG_ROOT so they touch only that root), where
the installed binary's --version and --check on the installed config (the unit's own command
line) are run; then removed (the edited conffile stays) and purged (it goes)."""
import glob
import os
import re
import shutil
import tempfile
import unittest

from packaging_env import AGENT_BIN, BUILD_DIR, CMAKE, VERSION, run, unit_exec_start

CONF = "etc/sticky-agent/sticky-agent.yaml"
UNIT = "usr/lib/systemd/system/sticky-agent.service"


def needed_libraries(binary):
    """The DT_NEEDED sonames of an ELF file."""
    out = run(["readelf", "-d", binary]).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def package_of(soname):
    """The Debian package that ships this library on this machine."""
    out = run(["dpkg", "-S", "*/" + soname]).stdout
    for line in out.splitlines():
        pkg, _, path = line.partition(": ")
        if path.endswith("/" + soname):
            return pkg.split(":")[0]
    raise AssertionError(f"no installed package ships {soname}")


def depends_names(field):
    """Package names in a Depends: value ("a (>= 1), b | c" -> {a, b, c})."""
    return {alt.strip().split(" ")[0] for dep in field.split(",") for alt in dep.split("|") if alt.strip()}


class DebPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("dpkg-deb", "dpkg-shlibdeps", "readelf"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} not installed: tests/install-deps.sh installs dpkg-dev and binutils")
        out_dir = os.path.join(BUILD_DIR, "packages")
        for old in glob.glob(os.path.join(out_dir, "sticky-agent_*.deb")):
            os.unlink(old)
        p = run([CMAKE, "--build", BUILD_DIR, "--target", "package"], timeout=600)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
        debs = glob.glob(os.path.join(out_dir, "sticky-agent_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]

    def field(self, name):
        return run(["dpkg-deb", "--field", self.deb, name]).stdout.strip()

    def test_control_fields(self):
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(self.field("Package"), "sticky-agent")
        if VERSION:
            self.assertEqual(self.field("Version"), VERSION)
        self.assertEqual(self.field("Architecture"), arch)
        self.assertEqual(os.path.basename(self.deb), f"sticky-agent_{self.field('Version')}_{arch}.deb")
        self.assertIn("haproxy", depends_names(self.field("Recommends")))
        self.assertTrue(self.field("Maintainer"))
        self.assertTrue(self.field("Description").startswith("session persistence"))

    def test_depends_cover_every_needed_library(self):
        depends = self.field("Depends")
        names = depends_names(depends)
        self.assertIn("passwd", names)  # useradd/usermod in postinst
        libs = needed_libraries(AGENT_BIN)
        self.assertGreaterEqual(len(libs), 5, libs)
        for soname in libs:
            with self.subTest(library=soname):
                self.assertIn(package_of(soname), names, f"Depends: {depends}")
        self.assertRegex(depends, r"libc6 \(>= [0-9.]+\)", "shlibdeps gives versioned dependencies")

    def test_files_and_conffile(self):
        listing = run(["dpkg-deb", "--contents", self.deb]).stdout
        files = {}
        for line in listing.splitlines():
            mode, _, _, _, _, path = line.split(None, 5)
            files[path.split(" -> ")[0].lstrip(".")] = mode
        for path, mode in {"/usr/bin/sticky-agent": "-rwxr-xr-x", "/" + CONF: "-rw-r--r--", "/" + UNIT: "-rw-r--r--",
                           "/usr/share/man/man8/sticky-agent.8.gz": "-rw-r--r--",
                           "/usr/lib/sysusers.d/sticky-agent.conf": "-rw-r--r--",
                           "/usr/share/doc/sticky-agent/copyright": "-rw-r--r--",
                           "/usr/share/doc/sticky-agent/LICENSE": "-rw-r--r--",
                           "/usr/share/doc/sticky-agent/changelog.gz": "-rw-r--r--",
                           "/usr/share/sticky-agent/systemd/haproxy-chroot.conf": "-rw-r--r--",
                           "/usr/share/sticky-agent/haproxy-conf/agent/sticky-agent.yaml": "-rw-r--r--",
                           "/usr/share/sticky-agent/redis/redis.conf": "-rw-r--r--"}.items():
            self.assertEqual(files.get(path), mode, path)
        self.assertFalse([p for p in files if p.startswith("/usr/local")], "a .deb never installs into /usr/local")
        self.assertNotIn("/usr/share/sticky-agent/haproxy-conf/demo/run-demo.sh", files)
        conffiles = run(["dpkg-deb", "--info", self.deb, "conffiles"]).stdout.split()
        self.assertEqual(conffiles, ["/" + CONF])
        for script in ("postinst", "prerm", "postrm"):
            body = run(["dpkg-deb", "--info", self.deb, script]).stdout
            self.assertTrue(body.startswith("#!/bin/sh"), script)
            self.assertEqual(run(["sh", "-n"], input=body).returncode, 0, f"{script}: shell syntax")

    def test_lintian_finds_no_error_or_warning(self):
        if not shutil.which("lintian"):
            self.skipTest("lintian not installed: tests/install-deps.sh installs it")
        p = run(["lintian", "--tag-display-limit", "0", self.deb], timeout=300)
        tags = [l for l in p.stdout.splitlines() if re.match(r"[EW]: ", l)]
        self.assertEqual(tags, [], p.stdout + p.stderr)

    def test_binary_is_stripped_and_runs(self):
        with tempfile.TemporaryDirectory(prefix="sticky-deb-x-") as d:
            self.assertEqual(run(["dpkg-deb", "-x", self.deb, d]).returncode, 0)
            binary = os.path.join(d, "usr/bin/sticky-agent")
            self.assertNotIn(".debug_info", run(["readelf", "-S", binary]).stdout, "CPACK_STRIP_FILES")
            self.assertLess(os.path.getsize(binary), os.path.getsize(AGENT_BIN))
            self.assertEqual(run([binary, "--version"]).stdout, run([AGENT_BIN, "--version"]).stdout)

    def test_install_run_remove_purge_in_a_temporary_root(self):
        root = tempfile.mkdtemp(prefix="sticky-dpkg-root-")
        try:
            self._install_run_remove_purge(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _install_run_remove_purge(self, root):
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"):
            os.makedirs(os.path.join(root, d))
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        # The libraries come from this machine, not from the empty root: hence --force-depends.
        # Maintainer scripts run outside a chroot with DPKG_ROOT=root (they only touch root then).
        dpkg = ["dpkg", f"--root={root}", f"--log={root}/var/log/dpkg.log", "--force-script-chrootless",
                "--force-depends"]
        if os.geteuid() != 0:
            dpkg.append("--force-not-root")
        p = run([*dpkg, "-i", self.deb], timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        status = run(["dpkg", f"--root={root}", "-s", "sticky-agent"]).stdout
        self.assertIn("Status: install ok installed", status)

        binary = os.path.join(root, "usr/bin/sticky-agent")
        version = run([binary, "--version"])
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout, r"^sticky-agent \S+ ")
        # The unit's own command line, with --check in place of --config, on the installed config.
        argv = unit_exec_start(os.path.join(root, UNIT))
        self.assertEqual(argv, ["/usr/bin/sticky-agent", "--config", "/" + CONF])
        check = run([root + argv[0], "--check", root + argv[2]])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("valid", check.stdout)
        if shutil.which("systemd-sysusers"):
            with open(os.path.join(root, "etc/passwd")) as f:
                users = [l for l in f if l.startswith("sticky-agent:")]
            self.assertEqual(len(users), 1, "postinst creates the service user (in the dpkg root)")
            self.assertIn(":/nonexistent:", users[0])

        conf = os.path.join(root, CONF)
        with open(conf, "a") as f:
            f.write("# edited by the operator\n")
        p = run([*dpkg, "-r", "sticky-agent"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(binary))
        self.assertTrue(os.path.isfile(conf), "remove keeps conffiles")
        self.assertIn("Status: deinstall ok config-files", run(["dpkg", f"--root={root}", "-s", "sticky-agent"]).stdout)
        p = run([*dpkg, "--purge", "sticky-agent"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(conf), "purge removes conffiles")


if __name__ == "__main__":
    unittest.main()
