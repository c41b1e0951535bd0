package dev.postern.server.p2psc;

import dev.postern.core.p2psc.AdvertisedKey;
import dev.postern.core.p2psc.P2pscCodec;
import dev.postern.core.p2psc.P2pscMessage;
import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import dev.postern.server.net.TcpTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One peer's connection to the p2psc mediator, on its event loop: Advertise, the challenge and its answer,
 * then either waiting for the wanted peer (the first) or introducing it (the second). Every step the peer
 * owes has a timeout. Messages arrive whole, framed by the JSON object decoder before it.
 */
final class P2pscConnection extends SimpleChannelInboundHandler<ByteBuf> {

    private static final SecureRandom RANDOM = new SecureRandom();

    private enum State { ADVERTISE, RESPONSE, WAITING, DISCONNECTING, DONE }

    private final P2pscMediatorRole.Settings limits;
    private final Counters<P2pscCounter> counters;
    private final P2pscMediatorRole.Matcher matcher;
    private ChannelHandlerContext ctx;
    private State state = State.ADVERTISE;
    private ScheduledFuture<?> timeout;
    private P2pscMessage.Advertise advert;
    private AdvertisedKey key;
    private String nonce;
    /** The first peer, when this one is the second and is being told to listen. */
    private P2pscConnection first;
    private P2pscMessage.PeerIdentification toFirst;

    P2pscConnection(P2pscMediatorRole.Settings limits, Counters<P2pscCounter> counters, P2pscMediatorRole.Matcher matcher) {
        this.limits = limits;
        this.counters = counters;
        this.matcher = matcher;
    }

    P2pscMessage.Advertise advert() {
        return advert;
    }

    private InetSocketAddress seen() {
        return (InetSocketAddress) ctx.channel().remoteAddress();
    }

    private boolean postern() {
        return key instanceof AdvertisedKey.Node;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        expectWithin(limits.stepTimeout());
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
        Decoded<P2pscMessage> decoded = P2pscCodec.decode(frame.toString(StandardCharsets.UTF_8));
        if (!(decoded instanceof Decoded.Ok<P2pscMessage> ok)) {
            protocolError();
            return;
        }
        switch (state) {
            case ADVERTISE -> onAdvertise(ok.value());
            case RESPONSE -> onResponse(ok.value());
            case DISCONNECTING -> { } // the second peer owes only its close
            default -> protocolError(); // a waiting peer owes nothing
        }
    }

    private void onAdvertise(P2pscMessage m) {
        if (!(m instanceof P2pscMessage.Advertise a)) {
            protocolError();
            return;
        }
        if (a.version() != P2pscMediatorRole.VERSION) {
            counters.increment(P2pscCounter.ABORTED_VERSION);
            sendAndClose(new P2pscMessage.AdvertiseAbort("Required protocol version: " + P2pscMediatorRole.VERSION));
            return;
        }
        Optional<AdvertisedKey> parsed = AdvertisedKey.parse(a.ourKey());
        if (parsed.isEmpty()) {
            counters.increment(P2pscCounter.ABORTED_KEY);
            sendAndClose(new P2pscMessage.AdvertiseAbort("our_key must be an RSA public key of 2048 bits or more (PKCS#1 PEM) "
                    + "or a Postern node address"));
            return;
        }
        advert = a;
        key = parsed.get();
        nonce = Long.toUnsignedString(RANDOM.nextLong()) + Long.toUnsignedString(RANDOM.nextLong());
        send(new P2pscMessage.AdvertiseChallenge(key.challenge(nonce)));
        state = State.RESPONSE;
        expectWithin(limits.stepTimeout());
    }

    private void onResponse(P2pscMessage m) {
        if (!(m instanceof P2pscMessage.AdvertiseResponse r)) {
            protocolError();
            return;
        }
        if (!key.proves(nonce, r.nonce())) {
            counters.increment(P2pscCounter.FAILED_CHALLENGE);
            close(); // the protocol's answer to a wrong nonce: the connection closes
            return;
        }
        counters.increment(P2pscCounter.ADVERTISED);
        state = State.WAITING;
        expectWithin(limits.peerWait());
        P2pscConnection other = matcher.match(this, advert);
        if (other != null) {
            other.ctx.executor().execute(() -> other.pairWith(this));
        }
    }

    /**
     * On the first peer's event loop, once the second has matched it: a first that gave up or left just now
     * (no longer {@link State#WAITING}) is not introduced, and the second learns it.
     */
    private void pairWith(P2pscConnection second) {
        boolean here = state == State.WAITING && ctx.channel().isActive();
        second.ctx.executor().execute(() -> second.introduceTo(here ? this : null));
    }

    /** On the second peer's event loop: tell both, or tell the second its first has gone. */
    private void introduceTo(P2pscConnection firstPeer) {
        if (state != State.WAITING) {
            return;
        }
        if (firstPeer == null) {
            counters.increment(P2pscCounter.PEER_TIMEOUTS);
            sendAndClose(new P2pscMessage.AdvertiseAbort("the peer went away before it could be introduced"));
            return;
        }
        counters.increment(P2pscCounter.PAIRED);
        P2pscMessage.PeerIdentification identification = new P2pscMessage.PeerIdentification(advert.version(),
                seen().getAddress().getHostAddress(), seen().getPort());
        if (firstPeer.postern() && postern()) {
            sendAndClose(new P2pscMessage.PeerIdentification(firstPeer.advert.version(), firstPeer.seen().getAddress().getHostAddress(),
                    firstPeer.seen().getPort()));
            firstPeer.introduce(identification);
            return;
        }
        first = firstPeer;
        toFirst = identification;
        state = State.DISCONNECTING;
        expectWithin(limits.stepTimeout());
        // The mediator closes first (its FIN in PeerDisconnect's segment): the side that closes first keeps its
        // port in TIME_WAIT, and p2psc's second peer binds its listener on that port the moment it has closed,
        // without SO_REUSEADDR on the socket it closed.
        TcpTransport.writeLastAndShutdown(ctx.channel(), encode(new P2pscMessage.PeerDisconnect(seen().getPort())));
    }

    /** From any thread: sends {@code m} to this waiting peer, then closes; nothing if it no longer waits. */
    void introduce(P2pscMessage m) {
        ctx.executor().execute(() -> {
            if (state == State.WAITING) {
                sendAndClose(m);
            }
        });
    }

    /** The second peer closed (or went silent): it listens now, or soon. */
    private void secondClosed() {
        P2pscConnection firstPeer = first;
        P2pscMessage.PeerIdentification message = toFirst;
        first = null;
        firstPeer.ctx.executor().schedule(() -> firstPeer.introduce(message), P2pscMediatorRole.LISTEN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimeout();
        switch (state) {
            case DISCONNECTING -> secondClosed();
            case WAITING -> matcher.withdraw(this);
            case ADVERTISE, RESPONSE -> counters.increment(P2pscCounter.PROTOCOL_ERRORS); // closed early
            case DONE -> { }
        }
        state = State.DONE;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Resets, and frames the JSON decoder refused (too long, not JSON): the connection ends.
        if (state != State.DISCONNECTING) {
            protocolError();
        } else {
            close();
        }
    }

    private void onTimeout() {
        switch (state) {
            case WAITING -> {
                if (matcher.withdraw(this)) {
                    counters.increment(P2pscCounter.PEER_TIMEOUTS);
                    sendAndClose(new P2pscMessage.AdvertiseAbort("the peer did not advertise within " + limits.peerWait().toSeconds() + " s"));
                } // else a match took this peer just now: its introduction is on its way
            }
            case DISCONNECTING -> close(); // silent past the step timeout: introduce anyway
            case ADVERTISE, RESPONSE -> protocolError();
            case DONE -> { }
        }
    }

    private void protocolError() {
        if (state != State.DONE) {
            counters.increment(P2pscCounter.PROTOCOL_ERRORS);
            close();
        }
    }

    private void expectWithin(Duration d) {
        cancelTimeout();
        timeout = ctx.executor().schedule(this::onTimeout, d.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    private void send(P2pscMessage m) {
        ctx.writeAndFlush(encode(m));
    }

    private void sendAndClose(P2pscMessage m) {
        ending();
        ctx.writeAndFlush(encode(m)).addListener(ChannelFutureListener.CLOSE);
    }

    private void close() {
        ending();
        ctx.close();
    }

    /** Owes and waits for nothing more; a second peer being told to listen stays so until its close. */
    private void ending() {
        cancelTimeout();
        if (state != State.DISCONNECTING) {
            state = State.DONE;
        }
    }

    private static ByteBuf encode(P2pscMessage m) {
        return Unpooled.wrappedBuffer(P2pscCodec.encode(m).getBytes(StandardCharsets.UTF_8));
    }
}
