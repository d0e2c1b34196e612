"""netns - the project's own test hosts, in network namespaces (test_multihost.py).

    net = Network().start()          # a switch (a namespace with a bridge) and this
                                     # process's own port on it (net.runner_address)
    gw = net.add_host("gw1")         # a namespace, a veth pair to the switch, an address
    stack.start("gateway", netns=gw.path, ...)   # the process runs on that host
    ...
    net.close()                      # every namespace and veth gone (also after a failure)

Each host is a network namespace (`ip netns add`) with loopback and one interface
(eth0) whose veth peer is a port of the switch's bridge; the test process stays in
the machine's own namespace and reaches every host through one veth of its own on
the same switch (it plays the load balancer, the callers and the outside APIs).
Addresses come from 198.18.0.0/15 (RFC 2544, set aside for testing network
devices), a /24 that no route of this machine already covers.

Names carry this process's pid (obmh<pid>-...), so runs at the same time never
collide, and a run that was killed (SIGKILL: no teardown) is swept by the next one:
start() deletes the namespaces and links of every obmh<pid> whose pid is gone.

Needs root and iproute2; available() says why not otherwise.
"""
import ipaddress
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

from harness import CLONE_NEWNET

PREFIX = "obmh"
NETNS_DIR = Path("/run/netns")


def _joiner(netns):
    """A preexec_fn that joins the network namespace netns (a name) and nothing else.

    Not `ip -n` / `ip netns exec`: they also make a mount namespace and mark "/"
    a slave mount, which fails in a chroot whose "/" is no mount point (CI's root)."""
    path = str(NETNS_DIR / netns)

    def preexec():
        import ctypes

        fd = os.open(path, os.O_RDONLY)
        if ctypes.CDLL("libc.so.6", use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            os._exit(126)
        os.close(fd)

    return preexec


def _ip(*args, check=True, netns=None):
    """Runs ip ARGS (in the namespace netns, when given)."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                            preexec_fn=_joiner(netns) if netns else None)
    if check and result.returncode != 0:
        where = f" on {netns}" if netns else ""
        raise RuntimeError(f"ip {' '.join(args)}{where} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def available():
    """None when test hosts can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs the suite as root)"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2, deploy/scripts/deps.sh @test)"
    probe = f"{PREFIX}{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` does not work here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespaces(tag=None):
    """Names of this module's namespaces (of tag only, when given)."""
    names = [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(f"{tag}-" if tag else PREFIX)]


def links(tag=None):
    """Names of this module's links in this process's namespace (of tag only, when given)."""
    found = re.findall(r"^\d+: ([^:@]+)", _ip("-o", "link", "show").stdout, re.M)
    return [n for n in found if n.startswith(tag if tag else PREFIX)]


def sweep_stale():
    """Deletes namespaces and links left by runs whose process is gone."""
    for name in namespaces() + links():
        match = re.match(rf"{PREFIX}(\d+)", name)
        if match and not _pid_alive(int(match[1])):
            if name in links():
                _ip("link", "del", name, check=False)
            else:
                _ip("netns", "del", name, check=False)


def _free_subnet():
    """A 198.18.0.0/15 /24 that overlaps no route or address of this machine."""
    taken = []
    for line in _ip("-4", "route", "show", "table", "all").stdout.splitlines() + \
            _ip("-4", "-o", "addr", "show").stdout.splitlines():
        for word in line.split():
            try:
                taken.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                pass
    candidates = list(ipaddress.ip_network("198.18.0.0/15").subnets(new_prefix=24))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(other) for other in taken if other.prefixlen > 0):
            return subnet
    raise RuntimeError("no free /24 in 198.18.0.0/15")


class Host:
    """One test host: its name, namespace (name and file) and address."""

    def __init__(self, name, netns, address):
        self.name = name
        self.netns = netns
        self.address = address

    @property
    def hostname(self):
        """The name its processes see (harness die_with_parent(hostname=...)), e.g. in X-Served-By."""
        return f"mh-{self.name}"

    @property
    def path(self):
        """The namespace file processes join (harness die_with_parent(netns=...))."""
        return str(NETNS_DIR / self.netns)

    def run(self, *argv, check=True):
        """Runs a command on this host; CompletedProcess (text)."""
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, preexec_fn=_joiner(self.netns))
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} on {self.name} failed: {result.stderr.strip()}")
        return result

    def __repr__(self):
        return f"<Host {self.name} {self.address} netns={self.netns}>"


class Network:
    """A switch and the hosts on it; close() removes all of it."""

    def __init__(self):
        self.tag = f"{PREFIX}{os.getpid()}"
        self.subnet = None
        self.switch = f"{self.tag}-switch"
        self.runner_link = f"{self.tag}r"
        self.hosts = {}
        self._made = []

    @property
    def runner_address(self):
        """This process's address on the switch (stand-ins for outside APIs listen here)."""
        return str(self.subnet.network_address + 1)

    def start(self):
        sweep_stale()
        self.subnet = _free_subnet()
        try:
            self._add_netns(self.switch)
            _ip("link", "add", "br0", "type", "bridge", netns=self.switch)
            _ip("link", "set", "br0", "up", netns=self.switch)
            _ip("link", "add", self.runner_link, "type", "veth", "peer", "name", f"{self.runner_link}s")
            self._made.append(("link", self.runner_link))
            self._plug(f"{self.runner_link}s")
            _ip("addr", "add", f"{self.runner_address}/24", "dev", self.runner_link)
            _ip("link", "set", self.runner_link, "up")
        except BaseException:
            self.close()
            raise
        return self

    def _add_netns(self, name):
        _ip("netns", "add", name)
        self._made.append(("netns", name))
        _ip("link", "set", "lo", "up", netns=name)

    def _plug(self, link):
        """Moves link (a veth end in this namespace) into the switch, as a bridge port."""
        _ip("link", "set", link, "netns", self.switch)
        _ip("link", "set", link, "master", "br0", netns=self.switch)
        _ip("link", "set", link, "up", netns=self.switch)

    def add_host(self, name):
        """A new host on the switch: Host with the next address (.10, .11, ...)."""
        index = len(self.hosts)
        address = str(self.subnet.network_address + 10 + index)
        host = Host(name, f"{self.tag}-{name}", address)
        self._add_netns(host.netns)
        inside, port = f"{self.tag}h{index}", f"{self.tag}p{index}"
        _ip("link", "add", inside, "type", "veth", "peer", "name", port)
        self._made.append(("link", inside))  # gone with the namespace once moved; deleted here if not
        _ip("link", "set", inside, "netns", host.netns)
        _ip("link", "set", inside, "name", "eth0", netns=host.netns)
        _ip("addr", "add", f"{address}/24", "dev", "eth0", netns=host.netns)
        _ip("link", "set", "eth0", "up", netns=host.netns)
        self._plug(port)
        self.hosts[name] = host
        return host

    def close(self):
        """Deletes every namespace and link made (a veth goes with its namespace).
        Processes on the hosts must be stopped first: a namespace lives on while
        a process is in it. Returns what is still there (should be [])."""
        for kind, name in reversed(self._made):
            if kind == "link":
                _ip("link", "del", name, check=False)
            else:
                _ip("netns", "del", name, check=False)
        self._made.clear()
        return self.leftovers()

    def leftovers(self):
        return namespaces(self.tag) + links(self.tag)
