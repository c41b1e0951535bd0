package dev.postern.server.relay;

import dev.postern.server.net.UdpTransport;
import java.util.Optional;

/** The relay over Netty's best UDP transport (native epoll with recvmmsg on Linux, NIO elsewhere): runs anywhere. */
final class NettyRelayEngine implements RelayEngine {

    @Override
    public String name() {
        return "netty";
    }

    @Override
    public Optional<String> unavailableReason() {
        return Optional.empty();
    }

    @Override
    public RelayPlane start(Settings settings) {
        return new NettyRelayPlane(settings, UdpTransport.best());
    }
}
