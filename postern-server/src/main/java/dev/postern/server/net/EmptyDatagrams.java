package dev.postern.server.net;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.unix.Socket;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/**
 * Sends zero-length datagrams, which Netty's datagram channels (epoll and NIO alike) silently skip:
 * their write path treats an empty payload as already written. The relay must forward empty datagrams
 * (its users open their NAT mappings with them), so they go straight to the channel's own socket.
 * Call on the channel's event loop, after flushing what is queued, so order is kept.
 */
public final class EmptyDatagrams {

    /** The JDK channel under a NIO Netty channel, which Netty keeps to itself. */
    static final AttributeKey<DatagramChannel> JDK_CHANNEL = AttributeKey.valueOf(EmptyDatagrams.class, "jdkChannel");
    private static final ByteBuffer NOTHING = ByteBuffer.allocateDirect(0);

    private EmptyDatagrams() {}

    public static void send(Channel channel, InetSocketAddress to) throws IOException {
        if (channel instanceof EpollDatagramChannel epoll) {
            ((Socket) epoll.fd()).sendTo(NOTHING, 0, 0, to.getAddress(), to.getPort());
            return;
        }
        DatagramChannel jdk = channel.attr(JDK_CHANNEL).get();
        if (jdk == null) {
            throw new UnsupportedOperationException("cannot send an empty datagram on " + channel.getClass().getName());
        }
        jdk.send(ByteBuffer.allocate(0), to);
    }
}
