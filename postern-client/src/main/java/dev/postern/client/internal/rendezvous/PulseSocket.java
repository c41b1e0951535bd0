package dev.postern.client.internal.rendezvous;

import dev.postern.core.rendezvous.PulseClient;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Arrays;

/** Moves a {@link PulseClient}'s datagrams over a blocking {@link DatagramSocket}: the one place a pulse meets a socket. */
final class PulseSocket {

    /** Longer than any valid reply, so a longer datagram is seen as the wrong length, not truncated into a valid one. */
    static final int REPLY_BUFFER = 16;

    private PulseSocket() {}

    /** Sends what the machine has for the server. */
    static void flush(DatagramSocket socket, InetSocketAddress server, PulseClient machine) throws IOException {
        for (var t = machine.pollTransmit(); t.isPresent(); t = machine.pollTransmit()) {
            socket.send(new DatagramPacket(t.get(), t.get().length, server));
        }
    }

    /** Reads one datagram, waiting no longer than the machine's deadline, and hands it over; then wakes the machine if due. */
    static void receive(DatagramSocket socket, PulseClient machine, Clock clock, byte[] buffer) throws IOException {
        long wait = machine.pollTimeout() - clock.nanoTime();
        if (wait > 0) {
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, (wait + 999_999) / 1_000_000)));
            DatagramPacket in = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(in);
                machine.handleDatagram((InetSocketAddress) in.getSocketAddress(), Arrays.copyOf(buffer, in.getLength()), clock.nanoTime());
            } catch (SocketTimeoutException e) {
                // the try's deadline: handled below
            }
        }
        machine.handleTimeout(clock.nanoTime());
    }
}
