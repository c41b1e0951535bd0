package dev.postern.cli;

import dev.postern.client.identity.IdentityException;
import dev.postern.client.identity.IdentityFiles;
import dev.postern.client.peer.PosternNode;
import dev.postern.client.peer.ServerAddress;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** The options of every command that runs a node of its own: its server, the server's key, and where its identity lives. */
final class ServerOptions {

    @Option(names = "--server", paramLabel = "HOST[:PORT]", required = true,
            description = "The server's address; the port is its control port (default 5026).")
    String server;

    @Option(names = "--server-key", paramLabel = "HEX", required = true,
            description = "The server's address as it logs it at start ('node address ...'): the channel accepts no other server.")
    String serverKey;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${sys:user.home}/.postern",
            description = "Where this node's identity is kept (created on first start). Default: ${DEFAULT-VALUE}")
    Path dataDir;

    @Option(names = "--nat-check-port", paramLabel = "PORT", defaultValue = "3478", converter = Converters.PortOrOff.class,
            description = {"The server's NAT detection port: at start the node learns there whether its NAT gives every",
                "destination a new port, and peers use that to choose birthday punching. 'off' skips it. Default: ${DEFAULT-VALUE}"})
    int natCheckPort;

    NodeId pinnedKey() {
        if (!(NodeId.parse(serverKey.strip()) instanceof Decoded.Ok<NodeId> pinned)) {
            throw new UsageError("--server-key must be the server's address: 64 hex digits");
        }
        return pinned.value();
    }

    ServerAddress serverAddress() {
        return new ServerAddress(resolve(server), pinnedKey());
    }

    /** This node's identity from {@link #dataDir}, made there on first use. */
    NodeKeys identity() {
        try {
            return IdentityFiles.loadOrCreate(dataDir);
        } catch (IdentityException e) {
            throw new CommandFailure(e.getMessage());
        }
    }

    /** A node with {@code identity} keeping its channel to this server. */
    PosternNode startNode(NodeKeys identity) {
        try {
            ServerAddress server = serverAddress();
            Optional<InetSocketAddress> natDetection = natCheckPort <= 0 ? Optional.empty()
                    : Optional.of(new InetSocketAddress(server.address().getAddress(), natCheckPort));
            return PosternNode.start(identity, server, Clock.SYSTEM, PeerAgent.Settings.DEFAULTS, natDetection);
        } catch (IOException e) {
            throw new CommandFailure("cannot open a UDP socket: " + e.getMessage());
        }
    }

    /** HOST, HOST:PORT or [IPv6]:PORT, the control port by default. */
    static InetSocketAddress resolve(String text) {
        return resolve(text, 5026);
    }

    /** HOST, HOST:PORT or [IPv6]:PORT; a name is looked up once, here, not by the protocol. */
    static InetSocketAddress resolve(String text, int defaultPort) {
        String host = text.strip();
        int port = defaultPort;
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            if (close < 0) {
                throw new UsageError("--server '" + text + "' has an unclosed [");
            }
            if (host.length() > close + 1) {
                port = parsePort(text, host.substring(close + 2));
            }
            host = host.substring(1, close);
        } else if (host.indexOf(':') > 0 && host.indexOf(':') == host.lastIndexOf(':')) {
            port = parsePort(text, host.substring(host.indexOf(':') + 1));
            host = host.substring(0, host.indexOf(':'));
        }
        try {
            InetAddress a = IpLiteral.parse(host) instanceof Decoded.Ok<InetAddress> ok ? ok.value() : InetAddress.getByName(host);
            return new InetSocketAddress(a, port);
        } catch (UnknownHostException e) {
            throw new UsageError("--server: cannot resolve '" + host + "'");
        }
    }

    private static int parsePort(String text, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageError("--server '" + text + "': the port must be 1..65535");
    }
}
