package dev.postern.server.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.spi.SelectorProvider;

/**
 * The fastest UDP transport this machine has: native epoll with batched receive (recvmmsg), or plain
 * NIO where epoll is not available.
 */
public record UdpTransport(String name, IoHandlerFactory ioHandlerFactory, ChannelFactory<DatagramChannel> channels) {

    /** The default socket buffers drop bursts (a 200-datagram burst lost 34): ask for 4 MiB. */
    public static final int SOCKET_BUFFER_BYTES = 4 << 20;
    /**
     * Datagrams one wakeup may read before going back to epoll. Netty's default (16) ends the read
     * loop after one recvmmsg; draining the socket as a C loop does took a third of the system calls.
     */
    static final int MAX_DATAGRAMS_PER_WAKEUP = 1024;

    public static UdpTransport best() {
        if (Epoll.isAvailable()) {
            return new UdpTransport("epoll", EpollIoHandler.newFactory(), EpollDatagramChannel::new);
        }
        return new UdpTransport("nio", NioIoHandler.newFactory(), UdpTransport::nioChannel);
    }

    /** A NIO channel over a JDK channel of our own, kept so that {@link EmptyDatagrams} can reach it. */
    private static DatagramChannel nioChannel() {
        try {
            java.nio.channels.DatagramChannel jdk = SelectorProvider.provider().openDatagramChannel();
            NioDatagramChannel channel = new NioDatagramChannel(jdk);
            channel.attr(EmptyDatagrams.JDK_CHANNEL).set(jdk);
            return channel;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a UDP socket", e);
        }
    }

    public boolean batches() {
        return name.equals("epoll");
    }

    public EventLoopGroup newGroup(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, ioHandlerFactory);
    }

    /**
     * A bootstrap whose reads hand over datagrams of up to {@code slotBytes} (longer ones arrive
     * truncated to that size), {@code batch} per system call where the transport can batch.
     */
    public Bootstrap bootstrap(EventLoopGroup group, int slotBytes, int batch) {
        Bootstrap b = new Bootstrap()
                .group(group)
                .channelFactory(channels)
                .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
                .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES);
        if (batches() && batch > 1) {
            // recvmmsg turns on when each datagram has a fixed slot and the read buffer holds several.
            b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, slotBytes)
                    .option(ChannelOption.RECVBUF_ALLOCATOR, new BatchReadAllocator(slotBytes * batch, MAX_DATAGRAMS_PER_WAKEUP));
        } else {
            b.option(ChannelOption.RECVBUF_ALLOCATOR,
                    new FixedRecvByteBufAllocator(slotBytes).maxMessagesPerRead(MAX_DATAGRAMS_PER_WAKEUP));
        }
        return b;
    }
}
