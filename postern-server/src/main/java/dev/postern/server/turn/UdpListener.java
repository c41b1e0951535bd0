package dev.postern.server.turn;

import dev.postern.server.relay.TurnPlane;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;

/**
 * One of the STUN role's UDP sockets, where clients send and their answers leave from: a Netty channel on the role's
 * loop, or TURN's listener on the relay's {@code ffm} engine, whose ChannelData moves on the relay's thread.
 */
public sealed interface UdpListener {

    InetSocketAddress localAddress();

    /** Sends {@code datagram} to {@code to}; false (dropped) when the socket's queue is full. */
    boolean send(InetSocketAddress to, byte[] datagram);

    void close();

    record OfNetty(Channel channel) implements UdpListener {
        @Override
        public InetSocketAddress localAddress() {
            return (InetSocketAddress) channel.localAddress();
        }

        @Override
        public boolean send(InetSocketAddress to, byte[] datagram) {
            if (!channel.isWritable()) {
                return false;
            }
            channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(datagram), to), channel.voidPromise());
            return true;
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    record OfPlane(TurnPlane.Listener listener) implements UdpListener {
        @Override
        public InetSocketAddress localAddress() {
            return listener.localAddress();
        }

        @Override
        public boolean send(InetSocketAddress to, byte[] datagram) {
            return listener.send(to, datagram);
        }

        @Override
        public void close() {
            listener.close();
        }
    }
}
