package dev.postern.cli;

import dev.postern.client.EventListener;
import dev.postern.client.Identity;
import dev.postern.client.PortMappingProtocol;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.core.net.ServerAddress;
import dev.postern.core.portmap.MappingProtocol;
import dev.postern.core.identity.IdentityException;
import dev.postern.core.identity.IdentityFiles;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options of every command that runs a node of its own: its server, the server's key, and where its identity lives. */
final class ServerOptions {

    @Option(names = "--server", paramLabel = "KEY@HOST[:PORT]", required = true,
            description = {"The server's address as it prints it at start ('server address KEY@HOST:PORT'); the node",
                "accepts no other server. HOST[:PORT] alone needs --server-key. The port is the control port (default 5026)."})
    String server;

    @Option(names = "--server-key", paramLabel = "HEX",
            description = "The server's key (64 hex digits), for a --server given as HOST[:PORT].")
    String serverKey;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${sys:user.home}/.postern",
            description = "Where this node's identity is kept (created on first start). Default: ${DEFAULT-VALUE}")
    Path dataDir;

    @Option(names = "--nat-check-port", paramLabel = "PORT", defaultValue = "3478", converter = Converters.PortOrOff.class,
            description = {"The server's NAT detection port: at start the node learns there whether its NAT gives every",
                "destination a new port, and peers use that to choose birthday punching. 'off' skips it. Default: ${DEFAULT-VALUE}"})
    int natCheckPort;

    @Option(names = "--server-tcp-port", paramLabel = "PORT", defaultValue = "443", converter = Converters.PortOrOff.class,
            description = {"The server's TCP port for the control channel, tried where the server does not answer over UDP",
                "within 2 s (through the HTTP proxy https_proxy or all_proxy names, unless no_proxy lists the server); UDP is",
                "tried again every minute. 'off': UDP only. Default: ${DEFAULT-VALUE}"})
    int serverTcpPort;

    @Option(names = "--port-mapping", paramLabel = "PROTOCOLS", defaultValue = "auto", converter = Converters.PortMappingProtocols.class,
            description = {"Ask the router to forward a UDP port to this node, which peers behind any NAT then reach directly:",
                "'auto' tries PCP, then NAT-PMP, and UPnP IGD beside them (for at most 4 s at start, waiting on none of it),",
                "or name some of pcp, nat-pmp, upnp; 'off' asks nothing. The port is renewed while the node runs and removed",
                "when it stops. Never with a server on this machine. Default: ${DEFAULT-VALUE}"})
    PortMappingChoice portMapping;

    /** Where the server's control channel listens on TCP ({@code --server-tcp-port}), if the node may use it. */
    java.util.Optional<InetSocketAddress> serverTcp(ServerAddress server) {
        return serverTcpPort > 0 ? java.util.Optional.of(new InetSocketAddress(server.address().getAddress(), serverTcpPort))
                : java.util.Optional.empty();
    }

    /** The server's address and key from {@code --server} (and {@code --server-key}). */
    ServerAddress serverAddress() {
        NodeId keyApart = null;
        if (serverKey != null) {
            if (!(NodeId.parse(serverKey.strip()) instanceof Decoded.Ok<NodeId> pinned)) {
                throw new UsageError("--server-key must be the server's key: 64 hex digits");
            }
            keyApart = pinned.value();
        }
        NodeId key = keyApart;
        return asUsage(() -> ServerAddress.parse(server, key));
    }

    /** This node's keys from {@link #dataDir}, made there on first use. */
    NodeKeys identity() {
        try {
            return IdentityFiles.loadOrCreate(dataDir);
        } catch (IdentityException e) {
            throw new CommandFailure(e.getMessage());
        }
    }

    /**
     * A node with the identity from {@link #dataDir} keeping its channel to this server, connecting as {@code configure}
     * adds; what becomes of its port mapping is told on {@code err}.
     */
    Postern startNode(PrintWriter err, java.util.function.UnaryOperator<Postern.Builder> configure) {
        return startNode(nodeIdentity(), err, configure);
    }

    /** The node's identity from {@link #dataDir}, made there on first use, as {@link #startNode} uses it. */
    Identity nodeIdentity() {
        try {
            return Identity.loadOrCreate(dataDir);
        } catch (PosternException e) {
            throw new CommandFailure(e.getMessage());
        }
    }

    /** A node with {@code identity}, keeping its channel to this server, connecting as {@code configure} adds. */
    Postern startNode(Identity identity, PrintWriter err, java.util.function.UnaryOperator<Postern.Builder> configure) {
        try {
            Postern node = configure.apply(Postern.builder()
                    .identity(identity)
                    .server(serverAddress().toString())
                    .natDetectionPort(Math.max(natCheckPort, 0))
                    .serverTcpPort(Math.max(serverTcpPort, 0))
                    .portMapping(portMapping.protocols())
                    .eventListener(new PortMappingLog(err))).build();
            // SIGTERM or Ctrl-C closes it too: its peers hear the connections end, and the router forgets the port.
            Runtime.getRuntime().addShutdownHook(new Thread(node::close, "postern-node-close"));
            return node;
        } catch (PosternException e) {
            throw new CommandFailure(e.getMessage());
        }
    }

    /** A protocol as users and router manuals name it. */
    static String label(PortMappingProtocol p) {
        return MappingProtocol.valueOf(p.name()).label();
    }

    /** Tells on stderr what the router's port mapping came to. */
    private record PortMappingLog(PrintWriter err) implements EventListener {
        @Override
        public void portMapped(PortMappingProtocol protocol, InetSocketAddress external) {
            err.println("postern: port mapping: the router forwards " + external.getAddress().getHostAddress() + ":" + external.getPort()
                    + " to this node (" + label(protocol) + ")");
            err.flush();
        }

        @Override
        public void portMappingUnavailable(String why) {
            err.println("postern: no port mapping: " + why);
            err.flush();
        }
    }

    /** HOST, HOST:PORT or [IPv6]:PORT, {@code defaultPort} without a port; a name is looked up once, here. */
    static InetSocketAddress resolve(String text, int defaultPort) {
        return asUsage(() -> ServerAddress.resolve(text, defaultPort));
    }

    /** A parse whose failure is the user's: a malformed --server, or a name that does not resolve. */
    private interface Parse<T> {
        T run() throws UnknownHostException;
    }

    private static <T> T asUsage(Parse<T> parse) {
        try {
            return parse.run();
        } catch (IllegalArgumentException e) {
            throw new UsageError("--server " + e.getMessage());
        } catch (UnknownHostException e) {
            throw new UsageError("--server: cannot resolve '" + e.getMessage() + "'");
        }
    }
}
