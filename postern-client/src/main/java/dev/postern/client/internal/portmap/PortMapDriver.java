package dev.postern.client.internal.portmap;

import dev.postern.client.PortMappingProtocol;
import dev.postern.core.portmap.IgdControl;
import dev.postern.core.portmap.MappingProtocol;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a {@link PortMapper} on a virtual thread of its own, off the node's: one UDP socket for PCP, NAT-PMP and SSDP,
 * a JDK HTTP client for UPnP's SOAP, and one queue that brings datagrams, HTTP answers and the stop to the mapper in
 * turn. The node hears of mappings through the listener, on this thread. {@link #close} removes the mapping (waiting
 * at most {@link #REMOVAL_WAIT} for the router to confirm it over HTTP) and ends the thread.
 */
public final class PortMapDriver implements AutoCloseable {

    /** How long close waits for a UPnP router to confirm the removal; PCP and NAT-PMP removals are one datagram. */
    static final Duration REMOVAL_WAIT = Duration.ofSeconds(1);
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(2);

    private sealed interface Input {}

    private record Received(InetSocketAddress from, byte[] datagram) implements Input {}

    private record Answered(int id, int status, byte[] body) implements Input {}

    private record Stop() implements Input {}

    private final PortMapper mapper;
    private final Clock clock;
    private final Consumer<PortMapper.Event> listener;
    private final DatagramChannel socket;
    private final HttpClient http;
    /**
     * At most this many inputs wait; datagrams beyond it are dropped (anyone on the LAN may send to the socket), HTTP
     * answers and the stop wait for room.
     */
    static final int MAX_WAITING = 1024;
    private final LinkedBlockingQueue<Input> inputs = new LinkedBlockingQueue<>(MAX_WAITING);
    private final Thread thread;
    private final Thread receiver;

    private PortMapDriver(PortMapper mapper, Clock clock, Consumer<PortMapper.Event> listener) throws IOException {
        this.mapper = mapper;
        this.clock = clock;
        this.listener = listener;
        this.socket = DatagramChannel.open();
        socket.bind(null);
        this.http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).proxy(HttpClient.Builder.NO_PROXY).build();
        this.receiver = Thread.ofVirtual().name("postern-portmap-receive").unstarted(this::receive);
        this.thread = Thread.ofVirtual().name("postern-portmap").unstarted(this::run);
    }

    /**
     * Starts mapping the node's UDP port {@code internalPort}; the listener hears of each mapping made, renewed to
     * another address, or lost. Null where no socket could be opened: the node goes on without.
     */
    public static PortMapDriver start(PortMapper.Settings settings, int internalPort, Clock clock, Consumer<PortMapper.Event> listener) {
        PortMapper mapper = PortMapper.mapping(settings, DefaultGateway.find().orElse(null), internalPort,
                DefaultGateway::localAddressToward, new SecureRandom());
        try {
            PortMapDriver d = new PortMapDriver(mapper, clock, listener);
            d.receiver.start();
            d.thread.start();
            return d;
        } catch (IOException e) {
            return null;
        }
    }

    /** The mapper's settings allowing {@code allowed}, as the library's public face names them (none: no mapping). */
    public static PortMapper.Settings settingsFor(Set<PortMappingProtocol> allowed) {
        Set<MappingProtocol> protocols = EnumSet.noneOf(MappingProtocol.class);
        allowed.forEach(p -> protocols.add(MappingProtocol.valueOf(p.name())));
        return PortMapper.Settings.DEFAULTS.withProtocols(protocols);
    }

    /** Asks the router which protocols it answers, mapping nothing; returns what it found once the probe is over. */
    public static List<PortMapper.Event> probe(PortMapper.Settings settings, Clock clock) throws IOException, InterruptedException {
        PortMapper mapper = PortMapper.probe(settings, DefaultGateway.find().orElse(null), DefaultGateway::localAddressToward,
                new SecureRandom());
        List<PortMapper.Event> found = new CopyOnWriteArrayList<>();
        PortMapDriver d = new PortMapDriver(mapper, clock, found::add);
        d.receiver.start();
        try {
            d.thread.start();
            d.thread.join(settings.probeNanos() / 1_000_000 + REMOVAL_WAIT.toMillis() * 2);
        } finally {
            d.close();
        }
        return List.copyOf(found);
    }

    private void run() {
        mapper.start(clock.nanoTime());
        while (true) {
            if (flush()) {
                return; // a probe's end
            }
            Input in;
            try {
                long wait = mapper.pollTimeout() == Long.MAX_VALUE ? Long.MAX_VALUE : mapper.pollTimeout() - clock.nanoTime();
                in = wait == Long.MAX_VALUE ? inputs.take() : inputs.poll(Math.max(0, wait), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                return;
            }
            long now = clock.nanoTime();
            switch (in) {
                case null -> mapper.handleTimeout(now);
                case Received r -> mapper.handleDatagram(r.from(), r.datagram(), r.datagram().length, now);
                case Answered a -> mapper.handleHttp(a.id(), a.status(), a.body(), now);
                case Stop s -> {
                    mapper.stop(now);
                    flush();
                    awaitRemoval();
                    return;
                }
            }
        }
    }

    /** Sends what the mapper has to send and tells what it found; true once a probe reported its end. */
    private boolean flush() {
        for (var d = mapper.pollDatagram(); d.isPresent(); d = mapper.pollDatagram()) {
            try {
                socket.send(ByteBuffer.wrap(d.get().payload()), d.get().to());
            } catch (IOException e) {
                // no route now (no multicast route, say): the mapper's retries and its probe's bound decide
            }
        }
        for (var c = mapper.pollHttp(); c.isPresent(); c = mapper.pollHttp()) {
            call(c.get());
        }
        boolean over = false;
        for (var e = mapper.pollEvent(); e.isPresent(); e = mapper.pollEvent()) {
            over |= e.get() instanceof PortMapper.Event.ProbeDone;
            listener.accept(e.get());
        }
        return over;
    }

    private void call(PortMapper.HttpCall c) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(c.url().toString())).timeout(HTTP_TIMEOUT);
        if (c.soapAction() == null) {
            request.GET();
        } else {
            request.header("Content-Type", "text/xml; charset=\"utf-8\"").header("SOAPAction", c.soapAction())
                    .POST(HttpRequest.BodyPublishers.ofString(c.body()));
        }
        http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofInputStream()).whenComplete((response, failure) -> {
            if (failure != null) {
                put(new Answered(c.id(), -1, new byte[0]));
                return;
            }
            try (InputStream body = response.body()) {
                // a longer body is not a router's answer: the mapper refuses it, having read no more than this
                put(new Answered(c.id(), response.statusCode(), body.readNBytes(IgdControl.MAX_BYTES + 1)));
            } catch (IOException e) {
                put(new Answered(c.id(), -1, new byte[0]));
            }
        });
    }

    private void put(Input in) {
        try {
            inputs.put(in);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** After stop: the HTTP answer to a UPnP removal, for at most {@link #REMOVAL_WAIT} (datagrams went at once). */
    private void awaitRemoval() {
        long until = clock.nanoTime() + REMOVAL_WAIT.toNanos();
        try {
            for (long left = REMOVAL_WAIT.toNanos(); left > 0; left = until - clock.nanoTime()) {
                if (inputs.poll(left, TimeUnit.NANOSECONDS) instanceof Answered) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void receive() {
        ByteBuffer in = ByteBuffer.allocate(2048);
        try {
            while (true) {
                InetSocketAddress from = (InetSocketAddress) socket.receive(in.clear());
                inputs.offer(new Received(from, Arrays.copyOf(in.array(), in.position())));
            }
        } catch (IOException e) {
            // closed: the driver is done
        }
    }

    /** Removes the mapping (see the class) and stops; repeated calls do nothing more. */
    @Override
    public void close() {
        if (thread.isAlive()) {
            put(new Stop());
            try {
                thread.join(REMOVAL_WAIT.toMillis() * 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            socket.close();
        } catch (IOException e) {
            // closing: nothing left to do
        }
        http.shutdownNow();
    }
}
