package dev.postern.core.portmap;

import dev.postern.core.codec.Decoded;
import dev.postern.core.portmap.GatewayPackets.NatPmpAddress;
import dev.postern.core.portmap.GatewayPackets.NatPmpMapping;
import dev.postern.core.portmap.GatewayPackets.NatPmpRefusal;
import dev.postern.core.portmap.GatewayPackets.PcpReply;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Asks the router to forward a UDP port to the node's socket, without sockets or clock: PCP first, NAT-PMP where the
 * router speaks only that (both to the default gateway's port 5351), and UPnP IGD (SSDP discovery, then SOAP over
 * HTTP) beside them, the first mapping granted kept. All of it within a bounded probe at start, which nothing waits
 * on: a node without a mapping works as before. A mapping is renewed at half its lifetime and removed by
 * {@link #stop}. The other mode, {@link #probe}, maps nothing and reports which protocols the router answers (for
 * {@code postern nat-check}).
 *
 * <p>Its driver sends {@link #pollDatagram}s from one UDP socket and feeds back what arrives there, makes the
 * {@link #pollHttp} calls (UPnP's) and feeds back their answers, and calls {@link #handleTimeout} when
 * {@link #pollTimeout} says. Not thread-safe.
 */
public final class PortMapper {

    /**
     * @param probeNanos      how long the protocols have to answer at start
     * @param lifetimeSeconds the lifetime asked for a mapping
     * @param firstRetryNanos the first wait before a request over UDP is sent again (doubling after)
     */
    public record Settings(Set<MappingProtocol> protocols, long probeNanos, long lifetimeSeconds, long firstRetryNanos) {
        public static final Settings DEFAULTS = new Settings(EnumSet.allOf(MappingProtocol.class), 4_000_000_000L, 7200, 250_000_000L);
        /** No protocol: no mapping asked for. */
        public static final Settings OFF = DEFAULTS.withProtocols(Set.of());

        public Settings {
            protocols = protocols.isEmpty() ? EnumSet.noneOf(MappingProtocol.class) : EnumSet.copyOf(protocols);
        }

        public Settings withProtocols(Set<MappingProtocol> only) {
            return new Settings(only, probeNanos, lifetimeSeconds, firstRetryNanos);
        }
    }

    /** The local address a socket toward {@code remote} would send from: the driver asks its routing table. */
    @FunctionalInterface
    public interface Routes {
        Optional<InetAddress> localAddressToward(InetAddress remote);
    }

    /** A datagram to send from the mapper's socket. */
    public record Datagram(InetSocketAddress to, byte[] payload) {}

    /** An HTTP request to make: a GET when {@code soapAction} is null, else a POST of {@code body} with that SOAPAction. */
    public record HttpCall(int id, HttpUrl url, String soapAction, String body) {}

    /** What the mapper found. */
    public sealed interface Event {
        /** A mapping was granted, or renewed with another external address or port. */
        record Mapped(PortMapping mapping) implements Event {}

        /** The mapping ended without {@link #stop}: the router refused or stopped answering its renewal. */
        record Lost(PortMapping mapping, String why) implements Event {}

        /** The probe at start ended without a mapping. */
        record Unavailable(String why) implements Event {}

        /** {@link #probe} mode: the router answers {@code protocol}; its external address, where that protocol tells it. */
        record Offered(MappingProtocol protocol, Optional<InetAddress> external) implements Event {}

        /** {@link #probe} mode: every protocol has answered or had its time. */
        record ProbeDone() implements Event {}
    }

    private enum Step { OFF, ASKING, DONE, FAILED }

    private enum Purpose { DESCRIBE, ADDRESS, ADD, DELETE }

    /** A request over UDP sent again, ever later, until answered or, at {@code giveUpAt}, given up. */
    private static final class Retried {
        final InetSocketAddress to;
        final byte[] payload;
        final long giveUpAt;
        long next;
        long wait;

        Retried(InetSocketAddress to, byte[] payload, long now, long firstWait, long giveUpAt) {
            this.to = to;
            this.payload = payload;
            this.next = now;
            this.wait = firstWait;
            this.giveUpAt = giveUpAt;
        }
    }

    private static final String DESCRIPTION = "postern";

    private final Settings settings;
    private final boolean probeOnly;
    private final InetAddress gateway;
    private final int internalPort;
    private final Routes routes;
    private final SecureRandom random;
    private final ArrayDeque<Datagram> datagrams = new ArrayDeque<>();
    private final ArrayDeque<HttpCall> calls = new ArrayDeque<>();
    private final ArrayDeque<Event> events = new ArrayDeque<>();
    private final Map<MappingProtocol, Step> steps = new EnumMap<>(MappingProtocol.class);
    private final Map<MappingProtocol, Retried> retried = new EnumMap<>(MappingProtocol.class);
    private final Map<Integer, Purpose> pendingCalls = new HashMap<>();
    private final byte[] nonce = new byte[GatewayPackets.NONCE_BYTES];
    private int nextCall = 1;
    private long deadline;
    private boolean probing;
    private boolean stopped;
    /** NAT-PMP answers the external address and the port separately; both make a mapping. */
    private InetAddress natPmpAddress;
    private int natPmpPort;
    private HttpUrl describedAt;
    private IgdControl igd;
    private InetAddress upnpAddress;
    private InetAddress upnpClient;
    private int upnpPort;
    private long upnpLease;
    private boolean upnpTriedAnotherPort;
    private PortMapping mapping;
    private long renewAt = Long.MAX_VALUE;
    private long expiresAt = Long.MAX_VALUE;

    private PortMapper(Settings settings, boolean probeOnly, InetAddress gateway, int internalPort, Routes routes, SecureRandom random) {
        this.settings = settings;
        this.probeOnly = probeOnly;
        this.gateway = gateway;
        this.internalPort = internalPort;
        this.routes = routes;
        this.random = random;
        random.nextBytes(nonce);
        this.upnpLease = settings.lifetimeSeconds();
        this.upnpPort = internalPort;
        for (MappingProtocol p : MappingProtocol.values()) {
            steps.put(p, Step.OFF);
        }
    }

    /**
     * Maps UDP {@code internalPort} through the router: {@code gateway} is the default gateway (null where unknown: UPnP
     * only, found by multicast).
     */
    public static PortMapper mapping(Settings settings, InetAddress gateway, int internalPort, Routes routes, SecureRandom random) {
        return new PortMapper(settings, false, gateway, internalPort, routes, random);
    }

    /** Asks which protocols the router answers, mapping nothing. */
    public static PortMapper probe(Settings settings, InetAddress gateway, Routes routes, SecureRandom random) {
        return new PortMapper(settings, true, gateway, 0, routes, random);
    }

    public void start(long now) {
        probing = true;
        deadline = now + settings.probeNanos();
        if (gateway != null && wants(MappingProtocol.PCP)) {
            startPcp(now);
        } else if (gateway != null && wants(MappingProtocol.NAT_PMP)) {
            startNatPmp(now);
        }
        if (probeOnly && gateway != null && wants(MappingProtocol.NAT_PMP) && steps.get(MappingProtocol.NAT_PMP) == Step.OFF) {
            startNatPmp(now); // a probe asks both at once: it maps nothing that could clash
        }
        if (wants(MappingProtocol.UPNP)) {
            steps.put(MappingProtocol.UPNP, Step.ASKING);
            Retried search = new Retried(Ssdp.GROUP, Ssdp.search(), now, settings.firstRetryNanos() * 2, deadline);
            retried.put(MappingProtocol.UPNP, search);
            if (gateway != null) {
                datagrams.add(new Datagram(new InetSocketAddress(gateway, Ssdp.PORT), search.payload)); // where multicast is filtered
            }
        }
        if (steps.values().stream().allMatch(s -> s == Step.OFF)) {
            finishProbe(gateway == null ? "no default gateway, and UPnP is not allowed" : "no mapping protocol is allowed");
        }
        handleTimeout(now);
    }

    private boolean wants(MappingProtocol p) {
        return settings.protocols().contains(p);
    }

    private Optional<InetAddress> client() {
        return gateway == null ? Optional.empty() : routes.localAddressToward(gateway);
    }

    private void startPcp(long now) {
        Optional<InetAddress> client = client();
        if (client.isEmpty()) {
            steps.put(MappingProtocol.PCP, Step.FAILED); // PCP names the client's own address; NAT-PMP does not need it
            if (wants(MappingProtocol.NAT_PMP) && steps.get(MappingProtocol.NAT_PMP) == Step.OFF) {
                startNatPmp(now);
            }
            return;
        }
        steps.put(MappingProtocol.PCP, Step.ASKING);
        byte[] request = probeOnly ? GatewayPackets.pcpAnnounce(client.get())
                : GatewayPackets.pcpMap(nonce, client.get(), internalPort, internalPort, settings.lifetimeSeconds());
        retried.put(MappingProtocol.PCP, new Retried(new InetSocketAddress(gateway, GatewayPackets.PORT), request, now,
                settings.firstRetryNanos(), now + gatewayShare()));
    }

    /**
     * How long PCP, then NAT-PMP, wait for the gateway to answer: a quarter of the probe each when mapping (a router on
     * the LAN answers within milliseconds), which leaves UPnP's slower exchange the rest; half when only probing.
     */
    private long gatewayShare() {
        return probeOnly ? settings.probeNanos() / 2 : settings.probeNanos() / 4;
    }

    private void startNatPmp(long now) {
        steps.put(MappingProtocol.NAT_PMP, Step.ASKING);
        InetSocketAddress to = new InetSocketAddress(gateway, GatewayPackets.PORT);
        retried.put(MappingProtocol.NAT_PMP, new Retried(to, GatewayPackets.natPmpAddressRequest(), now, settings.firstRetryNanos(),
                now + gatewayShare()));
    }

    /** The mapping held now, if any. */
    public Optional<PortMapping> mapping() {
        return Optional.ofNullable(mapping);
    }

    public Optional<Datagram> pollDatagram() {
        return Optional.ofNullable(datagrams.poll());
    }

    public Optional<HttpCall> pollHttp() {
        return Optional.ofNullable(calls.poll());
    }

    public Optional<Event> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    /** When {@link #handleTimeout} next has something to do ({@link Long#MAX_VALUE}: nothing). */
    public long pollTimeout() {
        long t = Long.MAX_VALUE;
        for (Retried r : retried.values()) {
            t = Math.min(t, Math.min(r.next, r.giveUpAt));
        }
        if (probing) {
            t = Math.min(t, deadline);
        }
        return Math.min(t, Math.min(renewAt, expiresAt));
    }

    public void handleTimeout(long now) {
        if (stopped) {
            return;
        }
        if (probing && now - deadline >= 0) {
            for (MappingProtocol p : MappingProtocol.values()) {
                if (steps.get(p) == Step.ASKING) {
                    steps.put(p, Step.FAILED); // and nothing else starts: the probe is over
                    retried.remove(p);
                }
            }
            finishProbe("no router answered " + String.join(", ", settings.protocols().stream().map(MappingProtocol::label).toList())
                    + " within " + settings.probeNanos() / 1_000_000_000L + " s");
        }
        if (mapping != null && now - expiresAt >= 0) {
            PortMapping lost = mapping;
            forget();
            events.add(new Event.Lost(lost, "the router did not renew it before it expired"));
        } else if (mapping != null && now - renewAt >= 0) {
            renew(now);
        }
        for (MappingProtocol p : MappingProtocol.values()) {
            Retried r = retried.get(p);
            if (r != null && now - r.giveUpAt >= 0 && p != MappingProtocol.UPNP) {
                fail(p, now); // UPnP's search ends with the probe
            }
        }
        for (Retried r : retried.values()) {
            if (now - r.next >= 0) {
                datagrams.add(new Datagram(r.to, r.payload));
                r.next = now + r.wait;
                r.wait *= 2;
            }
        }
    }

    /** A datagram on the mapper's socket from {@code from}. */
    public void handleDatagram(InetSocketAddress from, byte[] datagram, int length, long now) {
        if (stopped) {
            return;
        }
        if (gateway != null && from.getAddress().equals(gateway) && from.getPort() == GatewayPackets.PORT) {
            if (GatewayPackets.decode(datagram, length) instanceof Decoded.Ok<GatewayPackets.Reply> ok) {
                onGatewayReply(ok.value(), now);
            }
            return;
        }
        if (steps.get(MappingProtocol.UPNP) == Step.ASKING && igd == null && !pendingCalls.containsValue(Purpose.DESCRIBE)
                && Ssdp.location(datagram, length, from.getAddress()) instanceof Decoded.Ok<HttpUrl> ok) {
            retried.remove(MappingProtocol.UPNP);
            call(Purpose.DESCRIBE, ok.value(), null, null);
        }
    }

    private void onGatewayReply(GatewayPackets.Reply reply, long now) {
        switch (reply) {
            case PcpReply p when steps.get(MappingProtocol.PCP) == Step.ASKING || isHeld(MappingProtocol.PCP) -> onPcp(p, now);
            case NatPmpRefusal r when r.result() == GatewayPackets.UNSUPPORTED_VERSION && steps.get(MappingProtocol.PCP) == Step.ASKING -> {
                fail(MappingProtocol.PCP, now); // a NAT-PMP router, answering PCP
            }
            case NatPmpRefusal r when steps.get(MappingProtocol.NAT_PMP) == Step.ASKING || isHeld(MappingProtocol.NAT_PMP) -> {
                lose(MappingProtocol.NAT_PMP, "the router refused NAT-PMP (result " + r.result() + ")", now);
            }
            case NatPmpAddress a when steps.get(MappingProtocol.NAT_PMP) == Step.ASKING -> onNatPmpAddress(a, now);
            case NatPmpMapping m when steps.get(MappingProtocol.NAT_PMP) == Step.ASKING || isHeld(MappingProtocol.NAT_PMP) -> {
                onNatPmpMapping(m, now);
            }
            default -> { } // late, repeated or unasked for
        }
    }

    private boolean isHeld(MappingProtocol p) {
        return mapping != null && mapping.protocol() == p;
    }

    private void onPcp(PcpReply p, long now) {
        if (probeOnly) {
            if (p.opcode() == GatewayPackets.OP_ANNOUNCE && p.result() == GatewayPackets.SUCCESS) {
                offered(MappingProtocol.PCP, Optional.empty(), now);
            } else {
                fail(MappingProtocol.PCP, now);
            }
            return;
        }
        if (p.opcode() != GatewayPackets.OP_MAP || (p.nonce() != null && !Arrays.equals(p.nonce(), nonce))) {
            return;
        }
        if (p.result() != GatewayPackets.SUCCESS || p.lifetime() == 0) {
            lose(MappingProtocol.PCP, "the router refused PCP (result " + p.result() + ")", now);
            return;
        }
        granted(new PortMapping(MappingProtocol.PCP, p.external(), p.lifetime()), now);
    }

    private void onNatPmpAddress(NatPmpAddress a, long now) {
        if (probeOnly) {
            offered(MappingProtocol.NAT_PMP, Optional.of(a.external()), now);
            return;
        }
        natPmpAddress = a.external();
        Retried asked = retried.get(MappingProtocol.NAT_PMP);
        retried.put(MappingProtocol.NAT_PMP, new Retried(new InetSocketAddress(gateway, GatewayPackets.PORT),
                GatewayPackets.natPmpMapRequest(internalPort, internalPort, settings.lifetimeSeconds()), now, settings.firstRetryNanos(),
                asked == null ? now + gatewayShare() : asked.giveUpAt));
        handleTimeout(now);
    }

    private void onNatPmpMapping(NatPmpMapping m, long now) {
        if (m.internalPort() != internalPort || natPmpAddress == null) {
            return;
        }
        if (m.lifetime() == 0 || m.externalPort() == 0) {
            lose(MappingProtocol.NAT_PMP, "the router granted no NAT-PMP lifetime", now);
            return;
        }
        natPmpPort = m.externalPort();
        granted(new PortMapping(MappingProtocol.NAT_PMP, new InetSocketAddress(natPmpAddress, natPmpPort), m.lifetime()), now);
    }

    /** The answer to HTTP call {@code id}: its status and body, or a status of -1 when it failed (no answer, a broken connection). */
    public void handleHttp(int id, int status, byte[] body, long now) {
        Purpose purpose = pendingCalls.remove(id);
        if (purpose == null || stopped || (purpose != Purpose.ADD && steps.get(MappingProtocol.UPNP) != Step.ASKING)) {
            return; // an ADD still counts after the probe's time: the router holds the mapping then
        }
        String text = body.length > IgdControl.MAX_BYTES ? "" : new String(body, StandardCharsets.UTF_8);
        switch (purpose) {
            case DESCRIBE -> onDescription(status, text, now);
            case ADDRESS -> onUpnpAddress(status, text, now);
            case ADD -> onUpnpAdded(status, text, now);
            case DELETE -> { }
        }
    }

    private void onDescription(int status, String xml, long now) {
        if (status != 200 || !(IgdControl.fromDescription(xml, describedAt) instanceof Decoded.Ok<IgdControl> ok)) {
            fail(MappingProtocol.UPNP, now);
            return;
        }
        igd = ok.value();
        call(Purpose.ADDRESS, igd.control(), "GetExternalIPAddress", igd.externalAddressRequest());
    }

    private void onUpnpAddress(int status, String answer, long now) {
        if (status != 200 || !(IgdControl.externalAddress(answer) instanceof Decoded.Ok<InetAddress> ok)) {
            fail(MappingProtocol.UPNP, now);
            return;
        }
        upnpAddress = ok.value();
        if (probeOnly) {
            offered(MappingProtocol.UPNP, Optional.of(upnpAddress), now);
            return;
        }
        Optional<InetAddress> client = routes.localAddressToward(igd.control().host().getAddress());
        if (client.isEmpty()) {
            fail(MappingProtocol.UPNP, now);
            return;
        }
        upnpClient = client.get();
        addUpnpIfItsTurn();
    }

    /** UPnP maps only once the router's PCP and NAT-PMP have had their say: they are tried first, and one mapping is enough. */
    private void addUpnpIfItsTurn() {
        if (upnpClient == null || mapping != null || steps.get(MappingProtocol.UPNP) != Step.ASKING
                || pendingCalls.containsValue(Purpose.ADD)
                || steps.get(MappingProtocol.PCP) == Step.ASKING || steps.get(MappingProtocol.NAT_PMP) == Step.ASKING) {
            return;
        }
        call(Purpose.ADD, igd.control(), "AddPortMapping", igd.addRequest(upnpPort, upnpClient, internalPort, upnpLease, DESCRIPTION));
    }

    private void onUpnpAdded(int status, String answer, long now) {
        if (status == 200) {
            granted(new PortMapping(MappingProtocol.UPNP, new InetSocketAddress(upnpAddress, upnpPort), upnpLease), now);
            return;
        }
        Optional<Integer> error = IgdControl.errorCode(answer);
        if (error.isPresent() && error.get() == IgdControl.ONLY_PERMANENT_LEASES && upnpLease != 0) {
            upnpLease = 0; // removed by stop, or by the router's own expiry of unused entries
        } else if (error.isPresent() && !upnpTriedAnotherPort && mapping == null) {
            upnpTriedAnotherPort = true; // the port is taken (another host's mapping): any other will do
            upnpPort = 1024 + random.nextInt(65536 - 1024);
        } else {
            lose(MappingProtocol.UPNP, "the router refused UPnP's AddPortMapping" + error.map(e -> " (error " + e + ")").orElse(""), now);
            return;
        }
        call(Purpose.ADD, igd.control(), "AddPortMapping", igd.addRequest(upnpPort, upnpClient, internalPort, upnpLease, DESCRIPTION));
    }

    private void call(Purpose purpose, HttpUrl url, String action, String body) {
        int id = nextCall++;
        pendingCalls.put(id, purpose);
        if (purpose == Purpose.DESCRIBE) {
            describedAt = url;
        }
        calls.add(new HttpCall(id, url, action == null ? null : igd.soapAction(action), body));
    }

    private void granted(PortMapping m, long now) {
        steps.put(m.protocol(), Step.DONE);
        retried.remove(m.protocol());
        boolean changed = mapping == null || !m.external().equals(mapping.external());
        mapping = m;
        long lifetime = m.lifetimeSeconds() * 1_000_000_000L;
        renewAt = m.lifetimeSeconds() == 0 ? Long.MAX_VALUE : now + lifetime / 2;
        expiresAt = m.lifetimeSeconds() == 0 ? Long.MAX_VALUE : now + lifetime;
        if (probing) {
            probing = false;
            for (MappingProtocol other : MappingProtocol.values()) {
                if (other != m.protocol() && steps.get(other) == Step.ASKING) {
                    steps.put(other, Step.OFF); // one mapping is enough
                    retried.remove(other);
                }
            }
        }
        if (changed) {
            events.add(new Event.Mapped(m));
        }
    }

    /** Sends the held mapping's request again; repeated, ever later, until answered or the mapping expires. */
    private void renew(long now) {
        renewAt = Long.MAX_VALUE;
        steps.put(mapping.protocol(), Step.ASKING);
        switch (mapping.protocol()) {
            case PCP -> client().ifPresent(c -> retried.put(MappingProtocol.PCP, new Retried(new InetSocketAddress(gateway, GatewayPackets.PORT),
                    GatewayPackets.pcpMap(nonce, c, internalPort, mapping.external().getPort(), settings.lifetimeSeconds()), now,
                    settings.firstRetryNanos(), Long.MAX_VALUE)));
            case NAT_PMP -> retried.put(MappingProtocol.NAT_PMP, new Retried(new InetSocketAddress(gateway, GatewayPackets.PORT),
                    GatewayPackets.natPmpMapRequest(internalPort, natPmpPort, settings.lifetimeSeconds()), now, settings.firstRetryNanos(),
                    Long.MAX_VALUE));
            case UPNP -> call(Purpose.ADD, igd.control(), "AddPortMapping",
                    igd.addRequest(upnpPort, upnpClient, internalPort, upnpLease, DESCRIPTION));
        }
    }

    private void fail(MappingProtocol p, long now) {
        steps.put(p, Step.FAILED);
        retried.remove(p);
        if (p == MappingProtocol.PCP && !probeOnly && gateway != null && wants(MappingProtocol.NAT_PMP)
                && steps.get(MappingProtocol.NAT_PMP) == Step.OFF && probing) {
            startNatPmp(now);
            handleTimeout(now);
        }
        addUpnpIfItsTurn();
        checkProbeOver();
    }

    /** {@code p} refused: a held mapping of it is lost; one still being asked for fails. */
    private void lose(MappingProtocol p, String why, long now) {
        if (isHeld(p)) {
            PortMapping lost = mapping;
            forget();
            steps.put(p, Step.FAILED);
            events.add(new Event.Lost(lost, why));
            return;
        }
        fail(p, now);
    }

    private void forget() {
        retried.remove(mapping.protocol());
        mapping = null;
        renewAt = Long.MAX_VALUE;
        expiresAt = Long.MAX_VALUE;
    }

    private void offered(MappingProtocol p, Optional<InetAddress> external, long now) {
        steps.put(p, Step.DONE);
        retried.remove(p);
        events.add(new Event.Offered(p, external));
        checkProbeOver();
    }

    private void checkProbeOver() {
        if (probing && steps.values().stream().noneMatch(s -> s == Step.ASKING)) {
            finishProbe("the router answers none of " + String.join(", ", settings.protocols().stream().map(MappingProtocol::label).toList()));
        }
    }

    private void finishProbe(String whyNoMapping) {
        if (!probing) {
            return;
        }
        probing = false;
        if (probeOnly) {
            events.add(new Event.ProbeDone());
        } else if (mapping == null) {
            events.add(new Event.Unavailable(whyNoMapping));
        }
    }

    /**
     * Removes the mapping held, if any (its removal is among the next datagrams or HTTP calls), and ends: nothing more
     * is sent, and no event comes.
     */
    public void stop(long now) {
        if (stopped) {
            return;
        }
        stopped = true;
        probing = false;
        renewAt = Long.MAX_VALUE;
        expiresAt = Long.MAX_VALUE;
        retried.clear();
        datagrams.clear();
        calls.clear();
        if (mapping == null) {
            return;
        }
        switch (mapping.protocol()) {
            case PCP -> client().ifPresent(c -> datagrams.add(new Datagram(new InetSocketAddress(gateway, GatewayPackets.PORT),
                    GatewayPackets.pcpMap(nonce, c, internalPort, mapping.external().getPort(), 0))));
            case NAT_PMP -> datagrams.add(new Datagram(new InetSocketAddress(gateway, GatewayPackets.PORT),
                    GatewayPackets.natPmpMapRequest(internalPort, 0, 0)));
            case UPNP -> {
                int id = nextCall++;
                pendingCalls.put(id, Purpose.DELETE);
                calls.add(new HttpCall(id, igd.control(), igd.soapAction("DeletePortMapping"), igd.deleteRequest(upnpPort)));
            }
        }
        mapping = null;
    }
}
