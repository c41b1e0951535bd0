package dev.postern.server;

import dev.postern.core.control.ControlServer;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.server.p2psc.P2pscMediatorRole;
import dev.postern.core.time.Clock;
import dev.postern.server.control.ControlTcpConfig;
import dev.postern.server.stun.StunConfig;
import dev.postern.server.introducer.IntroducerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.core.forward.Forwarder;
import dev.postern.server.relay.RelayFirstBudget;
import dev.postern.server.rendezvous.RendezvousConfig;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything {@code postern server} needs to run.
 *
 * @param bind         the address every public listener binds (the relay's ports too)
 * @param dataDir      where the server keeps its state between runs (its node identity); created if missing
 * @param relayThreads threads forwarding relay datagrams
 * @param relayEngine  what moves relay datagrams: a {@link dev.postern.server.relay.RelayEngine}'s name, or
 *                     {@code auto} for the fastest that runs here
 * @param controlPort  UDP port of the nodes' control channel (0 picks a free one)
 * @param p2pscPort    TCP port of the p2psc-compatible mediator (0 picks a free one, -1 turns it off)
 * @param stun         where STUN answers (and NAT detection, with a second address), or off
 * @param introducer   the introducer library's protocol (on the bind and second addresses), or off
 * @param messaging    queue limits and redelivery for messages between nodes
 * @param control      the control channel's shares: handshakes and sessions, in all and per source
 * @param controlTcp   the control channel over TCP, for nodes whose networks block UDP (or off)
 * @param p2psc        the p2psc mediator's shares and deadlines
 * @param relayFirst   the relay sockets started with introductions (relay first), apart from those nodes start
 * @param forwarding   peer packets forwarded over control channels (for nodes on TCP): pairs and byte rates
 */
public record ServerConfig(InetAddress bind, Path dataDir, RendezvousConfig rendezvous, RelayConfig relay,
        int relayThreads, String relayEngine, NodeApiConfig nodeApi, int controlPort, int p2pscPort, StunConfig stun, IntroducerConfig introducer, MessageRouter.Settings messaging,
        ControlServer.Settings control, ControlTcpConfig controlTcp, P2pscMediatorRole.Settings p2psc, RelayFirstBudget relayFirst,
        Forwarder.Settings forwarding, Clock clock) {

    /** With the control channel's and the p2psc mediator's default shares, and the control channel on UDP only. */
    public ServerConfig(InetAddress bind, Path dataDir, RendezvousConfig rendezvous, RelayConfig relay, int relayThreads,
            String relayEngine, NodeApiConfig nodeApi, int controlPort, int p2pscPort, StunConfig stun, IntroducerConfig introducer,
            MessageRouter.Settings messaging, Clock clock) {
        this(bind, dataDir, rendezvous, relay, relayThreads, relayEngine, nodeApi, controlPort, p2pscPort, stun, introducer, messaging,
                ControlServer.Settings.DEFAULTS, ControlTcpConfig.OFF, P2pscMediatorRole.Settings.DEFAULTS, RelayFirstBudget.DEFAULTS,
                Forwarder.Settings.DEFAULTS, clock);
    }

    /** The same, with the control channel over TCP as {@code tcp} says. */
    public ServerConfig withControlTcp(ControlTcpConfig tcp) {
        return new ServerConfig(bind, dataDir, rendezvous, relay, relayThreads, relayEngine, nodeApi, controlPort, p2pscPort, stun,
                introducer, messaging, control, tcp, p2psc, relayFirst, forwarding, clock);
    }

    public ServerConfig {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(rendezvous, "rendezvous");
        Objects.requireNonNull(relay, "relay");
        Objects.requireNonNull(nodeApi, "nodeApi");
        Objects.requireNonNull(messaging, "messaging");
        Objects.requireNonNull(control, "control");
        Objects.requireNonNull(controlTcp, "controlTcp");
        Objects.requireNonNull(p2psc, "p2psc");
        Objects.requireNonNull(relayFirst, "relayFirst");
        Objects.requireNonNull(forwarding, "forwarding");
        if (controlPort < 0 || controlPort > 65535) {
            throw new IllegalArgumentException("control port must be 0..65535");
        }
        if (p2pscPort < -1 || p2pscPort > 65535) {
            throw new IllegalArgumentException("p2psc port must be 0..65535, or -1 for none");
        }
        if (relayThreads < 1) {
            throw new IllegalArgumentException("relay threads must be at least 1");
        }
        Objects.requireNonNull(relayEngine, "relayEngine");
        Objects.requireNonNull(stun, "stun");
        Objects.requireNonNull(introducer, "introducer");
        Objects.requireNonNull(clock, "clock");
    }
}
