package dev.postern.server.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/**
 * TCP listeners on the best transport this machine has: native epoll, which can also send a last message
 * and the FIN in one segment (see {@link #writeLastAndShutdown}), or plain NIO where epoll is not available.
 */
public record TcpTransport(String name, IoHandlerFactory ioHandlerFactory, Class<? extends ServerChannel> serverChannel) {

    public static TcpTransport best() {
        return of(Epoll.isAvailable());
    }

    /** The TCP transport whose channels run on {@code udp}'s event loops, so one loop can own both kinds of socket. */
    public static TcpTransport onLoopsOf(UdpTransport udp) {
        return of(udp.name().equals("epoll"));
    }

    private static TcpTransport of(boolean epoll) {
        return epoll ? new TcpTransport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class)
                : new TcpTransport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class);
    }

    public EventLoopGroup newGroup(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, ioHandlerFactory);
    }

    public ServerBootstrap server(EventLoopGroup group, int backlog) {
        return new ServerBootstrap().group(group).channel(serverChannel).option(ChannelOption.SO_BACKLOG, backlog)
                .childOption(ChannelOption.TCP_NODELAY, true);
    }

    /**
     * Writes {@code message} and closes the sending side so that the FIN travels in the same segment (TCP_CORK
     * holds the data until the FIN joins it; NIO has no cork, so there the FIN follows the data at once). A peer
     * that closes the moment it reads the message then finds the FIN already in: it does not close first, so its
     * port is not held in TIME_WAIT. The future is the write's; the shutdown follows it.
     */
    public static ChannelFuture writeLastAndShutdown(Channel channel, Object message) {
        if (channel instanceof EpollSocketChannel epoll) {
            epoll.config().setTcpCork(true);
        }
        return channel.writeAndFlush(message).addListener((ChannelFutureListener) written -> {
            if (written.isSuccess() && channel instanceof SocketChannel socket) {
                socket.shutdownOutput();
            }
        });
    }
}
