package dev.postern.testkit.sim;

import dev.postern.core.stun.StunServer;
import java.net.InetSocketAddress;
import java.util.List;

/** The server's NAT detection on the simulated network: two hosts (its two addresses), two ports each. */
public final class SimStunServer {

    public static final int FIRST_PORT = 3478;
    public static final int SECOND_PORT = 3479;

    private final SimSocket[] sockets = new SimSocket[4];
    private final StunServer responder;

    public SimStunServer(SimHost first, SimHost second) {
        sockets[0] = first.open(FIRST_PORT);
        sockets[1] = first.open(SECOND_PORT);
        sockets[2] = second.open(FIRST_PORT);
        sockets[3] = second.open(SECOND_PORT);
        responder = new StunServer(List.of(sockets[0].localAddress(), sockets[1].localAddress(), sockets[2].localAddress(),
                sockets[3].localAddress()), StunServer.Settings.DEFAULTS, first.network().clock().nanoTime());
        for (int i = 0; i < 4; i++) {
            int on = i;
            sockets[i].onReceive((from, payload) -> responder.handleDatagram(on, from, payload, 0, payload.length, first.network().clock().nanoTime())
                    .ifPresent(r -> sockets[r.from()].send(r.to(), r.datagram())));
        }
    }

    public InetSocketAddress primary() {
        return sockets[0].localAddress();
    }

    public StunServer responder() {
        return responder;
    }
}
