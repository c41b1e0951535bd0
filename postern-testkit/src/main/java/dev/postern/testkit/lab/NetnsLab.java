package dev.postern.testkit.lab;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The kernel NAT lab: Linux network namespaces joined by veth links. One namespace is the "internet"
 * (a bridge on 203.0.113.0/24, a documentation range) where the server lives with two addresses; each
 * site is a router namespace with a public address on that bridge and a private network behind it, its
 * NAT made with iptables. Nothing links to the machine's own network, every name starts with this lab's
 * own prefix, and {@link #close} removes it all (and stops the processes started in it). Needs root.
 *
 * <pre>
 *   server 203.0.113.1, .2 ─┐
 *   public host .10 …       ├─ br0 (internet namespace)
 *   router .11 ── 192.168.1.0/24 ── hosts .2, .3 …
 *   router .12 ── 192.168.2.0/24 ── …   (public hosts and routers numbered in the order added, from .10)
 * </pre>
 */
public final class NetnsLab implements AutoCloseable {

    public static final String SERVER_ADDRESS = "203.0.113.1";
    public static final String SERVER_SECOND_ADDRESS = "203.0.113.2";
    /**
     * A second prefix on the internet bridge for routers whose software will not take a reserved WAN address (miniupnpd
     * refuses 203.0.113.0/24, a documentation range, as it refuses private ones). It is not reserved, so it is used only
     * here, inside namespaces with no link out; the internet namespace routes between the two prefixes.
     */
    public static final String ROUTABLE_PREFIX = "11.0.113.";
    /**
     * IPv6 on the internet bridge, for dual-stack sites ({@link #addDualStackSite}): 2001:db8::/64 (the documentation
     * prefix), the internet namespace at ::1; site {@code k}'s LAN is 2001:db8:k::/64 behind its router.
     */
    public static final String INTERNET_V6_PREFIX = "2001:db8::";

    /**
     * Every bridge's own MAC, set once: a Linux bridge left to itself takes the lowest MAC of its ports, so adding a host
     * could change the address of the server (or of a router's LAN side) under its neighbours, whose ARP caches then sent
     * to the old one for half a minute (new TCP connections to the server got no answer in that time). Each bridge is
     * its own segment, so one address serves them all.
     */
    private static final String BRIDGE_MAC = "02:00:00:00:00:01";

    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final LabHost server;
    /**
     * The next address on the internet bridge, for public hosts and routers alike: one count, so a lab that outlives many
     * tests never gives a public host a router's address (two counts did, and the router's traffic went astray).
     */
    private int nextInternet = 10;
    private int nextSite = 1;
    private int nextRoutable = 10;
    private boolean routableUp;
    private boolean ipv6Up;
    private int links;

    private NetnsLab(String prefix) throws IOException {
        this.prefix = prefix;
        String inet = namespace("inet");
        run("ip", "-n", inet, "link", "add", "br0", "type", "bridge");
        run("ip", "-n", inet, "link", "set", "br0", "address", BRIDGE_MAC);
        run("ip", "-n", inet, "link", "set", "br0", "up");
        run("ip", "-n", inet, "link", "set", "lo", "up");
        run("ip", "-n", inet, "addr", "add", SERVER_ADDRESS + "/24", "dev", "br0");
        run("ip", "-n", inet, "addr", "add", SERVER_SECOND_ADDRESS + "/24", "dev", "br0");
        this.server = new LabHost(this, inet, address(SERVER_ADDRESS));
    }

    /** Why the lab cannot be built here (not Linux, not root, a tool missing), or empty when it can. */
    public static Optional<String> unavailableReason() {
        if (!System.getProperty("os.name").equals("Linux")) {
            return Optional.of("the NAT lab needs Linux network namespaces");
        }
        try {
            Process id = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            if (!new String(id.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip().equals("0")) {
                return Optional.of("the NAT lab needs root (network namespaces and iptables)");
            }
            for (String tool : List.of("ip", "iptables")) {
                if (new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor() != 0) {
                    return Optional.of("the NAT lab needs '" + tool + "' (apt-get install iproute2 iptables)");
                }
            }
        } catch (IOException e) {
            return Optional.of("cannot run the lab's tools: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted");
        }
        return Optional.empty();
    }

    /** Builds the internet namespace with the server's two addresses. */
    public static NetnsLab create() throws IOException {
        String prefix = "pl" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 4);
        NetnsLab lab = new NetnsLab(prefix);
        Runtime.getRuntime().addShutdownHook(new Thread(lab::close, "netns-lab-cleanup"));
        return lab;
    }

    /** Where the server runs: the internet namespace, which holds both server addresses. */
    public LabHost server() {
        return server;
    }

    /** A host on the internet with a public address of its own. */
    public LabHost addPublicHost() throws IOException {
        int host = nextInternetHost();
        String ns = namespace("h" + host);
        String address = "203.0.113." + host;
        link(server.namespace(), ns, "eth0", address + "/24", true);
        run("ip", "-n", ns, "route", "add", "default", "via", SERVER_ADDRESS);
        return new LabHost(this, ns, address(address));
    }

    private int nextInternetHost() {
        if (nextInternet > 254) {
            throw new IllegalStateException("the lab's internet (203.0.113.0/24) has no address left: use a new lab");
        }
        return nextInternet++;
    }

    /** A router of {@code type} with a private network behind it; add hosts with {@link Site#addHost}. */
    public Site addSite(NatType type) throws IOException {
        return addSite(type, false, false);
    }

    /** The same, with the router's WAN address on {@link #ROUTABLE_PREFIX}: for a router that runs a port mapper. */
    public Site addRoutableSite(NatType type) throws IOException {
        return addSite(type, true, false);
    }

    /**
     * A router of {@code type} for IPv4 that also routes IPv6 without NAT, as most home routers do: its hosts get global
     * addresses (2001:db8:k::/64), and its IPv6 firewall lets in only answers to what they sent, as a stateful one does.
     */
    public Site addDualStackSite(NatType type) throws IOException {
        return addSite(type, false, true);
    }

    private Site addSite(NatType type, boolean routable, boolean dualStack) throws IOException {
        if (type == NatType.PUBLIC) {
            throw new IllegalArgumentException("a public host has no router: use addPublicHost");
        }
        int site = nextSite++;
        String router = namespace("r" + site);
        String wan;
        String gateway;
        if (routable) {
            addRoutablePrefix();
            wan = ROUTABLE_PREFIX + nextRoutable++;
            gateway = ROUTABLE_PREFIX + "1";
        } else {
            wan = "203.0.113." + nextInternetHost();
            gateway = SERVER_ADDRESS;
        }
        link(server.namespace(), router, "wan", wan + "/24", true);
        run("ip", "-n", router, "route", "add", "default", "via", gateway);
        run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Site made = new Site(router, wan, "192.168." + site, type, dualStack ? site : 0);
        if (dualStack) {
            made.routeIpv6(wan.substring(wan.lastIndexOf('.') + 1));
        }
        return made;
    }

    /** The internet namespace's IPv6 address and forwarding, once. */
    private void addIpv6() throws IOException {
        if (ipv6Up) {
            return;
        }
        run("ip", "-n", server.namespace(), "-6", "addr", "add", INTERNET_V6_PREFIX + "1/64", "dev", "br0", "nodad");
        run("ip", "netns", "exec", server.namespace(), "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        ipv6Up = true;
    }

    private void addRoutablePrefix() throws IOException {
        if (routableUp) {
            return;
        }
        run("ip", "-n", server.namespace(), "addr", "add", ROUTABLE_PREFIX + "1/24", "dev", "br0");
        run("ip", "netns", "exec", server.namespace(), "sysctl", "-qw", "net.ipv4.ip_forward=1");
        routableUp = true;
    }

    /** A router and the private network behind it. */
    public final class Site {
        private final String router;
        private final String wan;
        private final String lan;
        private final NatType type;
        private final String lanV6;
        private int nextHost = 2;
        private boolean lanUp;
        private Path portMapperLog;

        Site(String router, String wan, String lan, NatType type, int ipv6Site) {
            this.router = router;
            this.wan = wan;
            this.lan = lan;
            this.type = type;
            this.lanV6 = ipv6Site == 0 ? null : "2001:db8:" + ipv6Site + "::";
        }

        /**
         * The router's IPv6: its WAN at 2001:db8::{@code wanHost} (hexadecimal digits read as written), its LAN's /64 routed
         * to it from the internet, forwarding on, and a stateful firewall: only answers to what went out come in.
         */
        private void routeIpv6(String wanHost) throws IOException {
            addIpv6();
            String wanV6 = INTERNET_V6_PREFIX + wanHost;
            run("ip", "-n", router, "-6", "addr", "add", wanV6 + "/64", "dev", "wan", "nodad");
            run("ip", "-n", router, "-6", "route", "add", "default", "via", INTERNET_V6_PREFIX + "1");
            run("ip", "-n", server.namespace(), "-6", "route", "add", lanV6 + "/64", "via", wanV6);
            run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
            List<String> ip6t = List.of("ip", "netns", "exec", router, "ip6tables");
            iptables(ip6t, "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT");
            iptables(ip6t, "-A", "FORWARD", "-i", "wan", "-p", "ipv6-icmp", "-j", "ACCEPT"); // path MTU and the like
            iptables(ip6t, "-A", "FORWARD", "-i", "wan", "-j", "DROP");
        }

        /** Whether this site's hosts have IPv6 as well ({@link #addDualStackSite}). */
        public boolean isDualStack() {
            return lanV6 != null;
        }

        public InetAddress publicAddress() {
            return address(wan);
        }

        public NatType type() {
            return type;
        }

        /**
         * Impairs the router's link to the internet with tc netem (both directions of this site's traffic
         * cross it), e.g. {@code "loss", "1%", "delay", "10ms"}; empty if done, else why not (a kernel
         * without netem, say).
         */
        public Optional<String> impair(String... netem) {
            List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", router, "tc", "qdisc", "add", "dev", "wan", "root", "netem"));
            c.addAll(List.of(netem));
            try {
                run(c.toArray(String[]::new));
                return Optional.empty();
            } catch (IOException e) {
                return Optional.of(e.getMessage());
            }
        }

        /**
         * Makes the router drop {@code percent} of what it sends out to the internet, at random: real kernel
         * loss (iptables' statistic match) on a kernel without netem, though with no delay or reordering.
         */
        public void dropAtRandom(double percent) throws IOException {
            run("ip", "netns", "exec", router, "iptables", "-I", "FORWARD", "1", "-o", "wan", "-m", "statistic", "--mode", "random",
                    "--probability", String.format(java.util.Locale.ROOT, "%.4f", percent / 100), "-j", "DROP");
        }

        /**
         * Makes the router drop every UDP datagram its hosts send out to the internet, as networks that block UDP do (no
         * ICMP back); with {@code tcpToo}, every TCP segment as well, so only what the router itself sends (a proxy
         * running there) gets out; {@link #dropped} reads the kernel's count of what the rules dropped.
         */
        public void blockOutbound(boolean tcpToo) throws IOException {
            run("ip", "netns", "exec", router, "iptables", "-I", "FORWARD", "1", "-o", "wan", "-p", "udp", "-j", "DROP");
            if (tcpToo) {
                run("ip", "netns", "exec", router, "iptables", "-I", "FORWARD", "1", "-o", "wan", "-p", "tcp", "-j", "DROP");
            }
        }

        /** Packets the router's DROP rules for {@code protocol} ("udp" or "tcp") going out have dropped: the kernel's own count. */
        public long dropped(String protocol) throws IOException {
            String rules = run("ip", "netns", "exec", router, "iptables", "-L", "FORWARD", "-v", "-x", "-n");
            // iptables-nft shows the protocol by number (17, 6), the legacy one by name
            String number = protocol.equals("udp") ? "17" : protocol.equals("tcp") ? "6" : protocol;
            long total = 0;
            for (String line : rules.lines().toList()) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 4 && f[2].equals("DROP") && (f[3].equals(protocol) || f[3].equals(number)) && line.contains("wan")) {
                    total += Long.parseLong(f[0]);
                }
            }
            return total;
        }

        /** The router's address on its hosts' network (where a proxy on the router listens). */
        public InetAddress lanAddress() {
            return address(lan + ".1");
        }

        /** Starts {@code command} in the router's namespace (a proxy there, say); the lab stops it when it closes. */
        public Process start(ProcessBuilder command) throws IOException {
            List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", router));
            c.addAll(command.command());
            return track(command.command(c).start());
        }

        /** A host on this site's private network, behind its router. */
        public LabHost addHost() throws IOException {
            lanUp();
            String ns = namespace("r" + lan.substring(lan.lastIndexOf('.') + 1) + "h" + nextHost);
            int host = nextHost++;
            String address = lan + "." + host;
            link(router, ns, "eth0", address + "/24", false);
            run("ip", "-n", ns, "route", "add", "default", "via", lan + ".1");
            if (lanV6 != null) {
                run("ip", "-n", ns, "-6", "addr", "add", lanV6 + host + "/64", "dev", "eth0", "nodad");
                run("ip", "-n", ns, "-6", "route", "add", "default", "via", lanV6 + "1");
            }
            configureNat(address);
            return new LabHost(NetnsLab.this, ns, NetnsLab.address(address));
        }

        private void lanUp() throws IOException {
            if (!lanUp) {
                run("ip", "-n", router, "link", "add", "br1", "type", "bridge");
                run("ip", "-n", router, "link", "set", "br1", "address", BRIDGE_MAC);
                run("ip", "-n", router, "addr", "add", lan + ".1/24", "dev", "br1");
                if (lanV6 != null) {
                    run("ip", "-n", router, "-6", "addr", "add", lanV6 + "1/64", "dev", "br1", "nodad");
                }
                run("ip", "-n", router, "link", "set", "br1", "up");
                lanUp = true;
            }
        }

        /**
         * Runs Debian's {@code miniupnpd} on the router, as a home router runs it: UPnP IGD on its LAN if {@code upnp},
         * NAT-PMP and PCP (one switch in miniupnpd) if {@code natPmp}, mapping for this site's hosts only. Its rules go in
         * an nftables table of its own ({@code inet miniupnpd}), and the router's firewall lets in what they forward. The
         * router's WAN must be on {@link #ROUTABLE_PREFIX} (see {@link #addRoutableSite}). Its files go in {@code dir};
         * the lab stops it when it closes.
         */
        public Process startPortMapper(Path dir, boolean upnp, boolean natPmp) throws IOException {
            lanUp();
            Path rules = dir.resolve(router + "-miniupnpd.nft");
            Files.writeString(rules, String.join("\n",
                    "table inet miniupnpd {",
                    "  chain forward { type filter hook forward priority -1; policy accept; jump miniupnpd; }",
                    "  chain miniupnpd { }",
                    "  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }",
                    "  chain prerouting_miniupnpd { }",
                    "  chain postrouting { type nat hook postrouting priority srcnat; policy accept; jump postrouting_miniupnpd; }",
                    "  chain postrouting_miniupnpd { }",
                    "}", ""));
            run("ip", "netns", "exec", router, "nft", "-f", rules.toString());
            // iptables' own FORWARD chain drops the unsolicited: what the mapper forwards (DNAT) must pass it too
            run("ip", "netns", "exec", router, "iptables", "-I", "FORWARD", "1", "-i", "wan", "-m", "conntrack", "--ctstate", "DNAT",
                    "-j", "ACCEPT");
            Path conf = dir.resolve(router + "-miniupnpd.conf");
            Files.writeString(conf, String.join("\n",
                    "ext_ifname=wan", "listening_ip=br1", "http_port=0",
                    "enable_upnp=" + (upnp ? "yes" : "no"), "enable_natpmp=" + (natPmp ? "yes" : "no"),
                    "secure_mode=yes", "system_uptime=yes",
                    "upnp_table_name=miniupnpd", "upnp_nat_table_name=miniupnpd",
                    "allow 1024-65535 " + lan + ".0/24 1024-65535", "deny 0-65535 0.0.0.0/0 0-65535", ""));
            portMapperLog = dir.resolve(router + "-miniupnpd.log");
            return start(new ProcessBuilder("miniupnpd", "-d", "-f", conf.toString(), "-P", dir.resolve(router + "-miniupnpd.pid").toString())
                    .redirectErrorStream(true).redirectOutput(portMapperLog.toFile()));
        }

        /** Where the port mapper started with {@link #startPortMapper} logs (its debug output). */
        public Path portMapperLog() {
            if (portMapperLog == null) {
                throw new IllegalStateException("no port mapper was started on this router");
            }
            return portMapperLog;
        }

        /** The port forwards the router's port mapper holds now, as nftables lists them. */
        public String portMapperForwards() throws IOException {
            return run("ip", "netns", "exec", router, "nft", "list", "chain", "inet", "miniupnpd", "prerouting_miniupnpd");
        }

        private void configureNat(String host) throws IOException {
            if (nextHost > 3) {
                return; // the rules are made once, with the first host
            }
            List<String> ipt = List.of("ip", "netns", "exec", router, "iptables");
            switch (type) {
                case FULL_CONE -> {
                    iptables(ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-p", "udp", "-j", "SNAT", "--to-source", wan);
                    iptables(ipt, "-t", "nat", "-A", "PREROUTING", "-i", "wan", "-p", "udp", "-j", "DNAT", "--to-destination", host);
                    iptables(ipt, "-A", "FORWARD", "-i", "wan", "-p", "udp", "-d", host, "-j", "ACCEPT");
                }
                case EASY -> iptables(ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE");
                case HARD -> iptables(ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE", "--random-fully");
                case PUBLIC -> throw new IllegalStateException("no router");
            }
            // Whatever was not let in above: only answers to what went out. Unsolicited datagrams for the router
            // itself are dropped too, as a home router's firewall does; a datagram it took in would leave a
            // conntrack entry that makes MASQUERADE give the next outgoing flow to that peer another port.
            iptables(ipt, "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT");
            iptables(ipt, "-A", "FORWARD", "-i", "wan", "-j", "DROP");
            iptables(ipt, "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT");
            iptables(ipt, "-A", "INPUT", "-i", "wan", "-j", "DROP");
        }

        private void iptables(List<String> prefix, String... rule) throws IOException {
            List<String> c = new ArrayList<>(prefix);
            c.addAll(List.of(rule));
            run(c.toArray(String[]::new));
        }
    }

    /** A veth pair: one end in {@code from} (on its bridge), the other named {@code name} in {@code to} with {@code cidr}. */
    private void link(String from, String to, String name, String cidr, boolean toInternet) throws IOException {
        String a = prefix + "a" + links;
        String b = prefix + "b" + links++;
        run("ip", "link", "add", a, "type", "veth", "peer", "name", b);
        run("ip", "link", "set", a, "netns", from);
        run("ip", "link", "set", b, "netns", to);
        run("ip", "-n", from, "link", "set", a, "master", toInternet ? "br0" : "br1", "up");
        run("ip", "-n", to, "link", "set", b, "name", name);
        run("ip", "-n", to, "addr", "add", cidr, "dev", name);
        run("ip", "-n", to, "link", "set", name, "up");
        run("ip", "-n", to, "link", "set", "lo", "up");
    }

    private String namespace(String role) throws IOException {
        String ns = prefix + "-" + role;
        run("ip", "netns", "add", ns);
        namespaces.add(ns);
        return ns;
    }

    synchronized Process track(Process p) {
        processes.add(p);
        return p;
    }

    /** Runs a setup command and waits for it; its failure is an exception with its output. */
    /** Runs a tool ({@code ip}, {@code iptables}) to its end, within 30 s; its output in the exception if it fails. */
    public static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": did not finish in 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output.strip());
        }
        return output;
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal); // always a literal here: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    /** Stops the processes started in the lab, then removes its namespaces (their links go with them). */
    @Override
    public synchronized void close() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        for (String ns : namespaces.reversed()) {
            try {
                run("ip", "netns", "del", ns);
            } catch (IOException e) {
                // already gone
            }
        }
        namespaces.clear();
    }
}
