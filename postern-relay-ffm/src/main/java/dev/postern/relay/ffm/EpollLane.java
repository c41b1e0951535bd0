package dev.postern.relay.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.postern.core.metrics.Counters;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.core.time.Clock;
import dev.postern.server.relay.RelayCounter;
import dev.postern.server.relay.RelayEngine;
import dev.postern.server.relay.RelayPlane;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * One forwarding thread, in the shape of the C reference forwarder: it waits in epoll for any of its
 * ports, reads a ready port's datagrams with recvmmsg into one set of slots, and sends those its pair
 * lets through out of the other port with one sendmmsg, straight from the same slots. Ports are added,
 * started and closed by commands run on the thread, so their state needs no locks.
 */
final class EpollLane implements RelayPlane.Lane, Executor {

    /**
     * Datagrams per recvmmsg. At 20,000 datagrams a second most wakeups find one or two, and a full
     * batch means the port is busy: 8 keeps the slots (8 × slot bytes) in cache and costs little at
     * full load, where four batches are read per wakeup before the next ready port gets its turn.
     */
    static final int BATCH = 8;
    /**
     * Datagrams per recvmmsg on a TURN port, as many as the C forwarder reads. TURN's listener takes every client's
     * datagrams, so a busy one is the rule: in the TURN bench (64 B, maximum rate) batches of 8 delivered 0.86 of the
     * forwarder and batches of 32 or 64 0.92-0.95, and at 20,000/s each way 64 took the fewest CPU-seconds. The slots are
     * sized for it; a port pair's reads still use only the first {@link #BATCH}.
     */
    static final int TURN_BATCH = 64;
    private static final int BATCHES_PER_WAKEUP = 4;
    private static final int MAX_EVENTS = 64;
    private static final long WAKE = -1;

    private final Clock clock;
    private final Counters<RelayCounter> counters;
    private final int maxDatagram;
    private final long slotBytes;
    private final int epollFd;
    private final int wakeFd;
    private final Thread thread;
    private final Queue<Command<?>> commands = new ConcurrentLinkedQueue<>();
    private volatile boolean stopped;
    private boolean stopping;
    private FfmPort[] ports = new FfmPort[16];
    /** Slots freed by closed ports, reused first; slots from {@link #neverUsed} on have never held one. */
    private int[] freeSlots = new int[16];
    private int freeCount;
    private int neverUsed;

    // The thread's own memory, made when it starts.
    private MemorySegment events;
    private MemorySegment received;
    private MemorySegment sources;
    private MemorySegment slots;
    private MemorySegment sends;
    private MemorySegment[] sendsFrom;
    private MemorySegment sendVectors;
    private MemorySegment sendState;
    private TurnForwarding turnForwarding;
    /** One datagram a pair held, sent out of the port whose side just claimed. */
    private MemorySegment heldSlot;
    private MemorySegment heldVector;
    private MemorySegment[] heldMessage;
    /** What {@link Libc#sendAll} counts the kernel refused, reused. */
    private final int[] refused = new int[1];

    EpollLane(RelayEngine.Settings settings, String name) {
        this.clock = settings.clock();
        this.counters = settings.counters();
        this.maxDatagram = settings.maxDatagram();
        // One byte more than the largest datagram relayed: one that fills its slot arrived truncated.
        this.slotBytes = settings.maxDatagram() + 1L;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            int ep = Libc.epollCreate(state);
            if (ep < 0) {
                throw new IllegalStateException("epoll_create1 failed: errno " + Libc.errno(state));
            }
            int wake = Libc.eventfd(state);
            if (wake < 0) {
                Libc.close(ep);
                throw new IllegalStateException("eventfd failed: errno " + Libc.errno(state));
            }
            MemorySegment event = arena.allocate(Libc.EPOLL_EVENT_BYTES, 8);
            event.set(JAVA_INT, 0, Libc.EPOLLIN);
            event.set(JAVA_LONG_UNALIGNED, Libc.EPOLL_DATA, WAKE);
            Libc.epollCtl(state, ep, Libc.EPOLL_CTL_ADD, wake, event);
            this.epollFd = ep;
            this.wakeFd = wake;
        }
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public Optional<RelayPlane.Port> bind(InetSocketAddress address) {
        int fd;
        int number;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            fd = Libc.socket(state, SocketAddresses.family(address.getAddress()), Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
            if (fd < 0) {
                return Optional.empty();
            }
            MemorySegment size = arena.allocate(JAVA_INT);
            size.set(JAVA_INT, 0, FfmRelayEngine.SOCKET_BUFFER_BYTES);
            Libc.setsockopt(state, fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, size);
            Libc.setsockopt(state, fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, size);
            MemorySegment name = arena.allocate(SocketAddresses.SLOT_BYTES, 8);
            int length = SocketAddresses.write(address, name);
            MemorySegment nameLength = arena.allocate(JAVA_INT);
            nameLength.set(JAVA_INT, 0, (int) SocketAddresses.SLOT_BYTES);
            if (Libc.bind(state, fd, name, length) != 0 || Libc.getsockname(state, fd, name, nameLength) != 0) {
                Libc.close(fd);
                return Optional.empty();
            }
            number = SocketAddresses.read(name, nameLength.get(JAVA_INT, 0)).orElseThrow().getPort();
        }
        FfmPort port = new FfmPort(this, fd, number);
        try {
            call(() -> add(port));
        } catch (IllegalStateException stopped) {
            Libc.close(fd);
            throw stopped;
        }
        return Optional.of(port);
    }

    @Override
    public void relay(RelayPlane.Port side1, RelayPlane.Port side2, RelayPair pair) {
        FfmPort one = (FfmPort) side1;
        FfmPort two = (FfmPort) side2;
        if (one.lane != this || two.lane != this) {
            throw new IllegalArgumentException("a socket's ports must be bound on the lane that relays them");
        }
        call(() -> {
            one.pair = pair;
            one.side = RelayPair.SIDE_1;
            one.other = two;
            two.pair = pair;
            two.side = RelayPair.SIDE_2;
            two.other = one;
            return null;
        });
    }

    void close(FfmPort port) {
        call(() -> remove(port));
    }

    /** Makes {@code port} TURN's, as {@code turn} says, before any datagram of it is read as TURN's. */
    void attach(FfmPort port, TurnPort turn) {
        call(() -> port.turn = turn);
    }

    /** TURN's forwarding over this lane's batch: on the lane's thread only. */
    TurnForwarding turnForwarding() {
        return turnForwarding;
    }

    /** Stops the thread, closing every port still open, and returns once it has ended. */
    void stop() {
        try {
            call(() -> stopping = true);
        } catch (IllegalStateException alreadyStopped) {
            return;
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code command} on the lane's thread and waits for its result. */
    private <T> T call(Supplier<T> command) {
        if (Thread.currentThread() == thread) {
            return command.get();
        }
        Command<T> queued = new Command<>(command, new CompletableFuture<>());
        post(queued);
        try {
            return queued.done.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** Runs {@code task} on the lane's thread, later; refused once the thread has ended. */
    @Override
    public void execute(Runnable task) {
        if (stopped) {
            throw new RejectedExecutionException("the relay lane has stopped");
        }
        post(new Command<>(() -> {
            task.run();
            return null;
        }, new CompletableFuture<>()));
    }

    private void post(Command<?> queued) {
        commands.add(queued);
        if (stopped) {
            failCommands();
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment one = arena.allocate(JAVA_LONG);
                one.set(JAVA_LONG, 0, 1L);
                Libc.write(wakeFd, one);
            }
        }
    }

    private record Command<T>(Supplier<T> action, CompletableFuture<T> done) {
        void run() {
            try {
                done.complete(action.get());
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        }
    }

    private Object add(FfmPort port) {
        int slot = freeCount > 0 ? freeSlots[--freeCount] : neverUsed;
        if (slot == ports.length) {
            ports = Arrays.copyOf(ports, ports.length * 2);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.callState(arena);
            MemorySegment event = arena.allocate(Libc.EPOLL_EVENT_BYTES, 8);
            event.set(JAVA_INT, 0, Libc.EPOLLIN);
            event.set(JAVA_LONG_UNALIGNED, Libc.EPOLL_DATA, slot);
            if (Libc.epollCtl(state, epollFd, Libc.EPOLL_CTL_ADD, port.fd, event) != 0) {
                if (slot != neverUsed) {
                    freeCount++;
                }
                throw new IllegalStateException("epoll_ctl failed: errno " + Libc.errno(state));
            }
        }
        if (slot == neverUsed) {
            neverUsed++;
        }
        port.slot = slot;
        ports[slot] = port;
        return null;
    }

    private Object remove(FfmPort port) {
        if (port.closed) {
            return null;
        }
        port.closed = true;
        if (port.turn != null) {
            port.turn.closing();
        }
        if (port.other != null) {
            port.other.other = null; // its partner drops from now on: this descriptor number may soon be someone else's
            port.other = null;
        }
        try (Arena arena = Arena.ofConfined()) {
            Libc.epollCtl(Libc.callState(arena), epollFd, Libc.EPOLL_CTL_DEL, port.fd, MemorySegment.NULL);
        }
        Libc.close(port.fd);
        ports[port.slot] = null;
        if (freeCount == freeSlots.length) {
            freeSlots = Arrays.copyOf(freeSlots, freeSlots.length * 2);
        }
        freeSlots[freeCount++] = port.slot;
        return null;
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            allocateBatch(arena);
            while (!stopping) {
                int ready = Libc.epollWait(epollFd, events, MAX_EVENTS, -1);
                boolean woken = false;
                long now = ready > 0 ? clock.nanoTime() : 0;
                for (int k = 0; k < ready; k++) {
                    long data = events.get(JAVA_LONG_UNALIGNED, k * Libc.EPOLL_EVENT_BYTES + Libc.EPOLL_DATA);
                    if (data == WAKE) {
                        woken = true;
                    } else {
                        FfmPort port = ports[(int) data];
                        if (port != null) {
                            pump(port, now);
                        }
                    }
                }
                // Commands run after the events: none of this wakeup's events is for a port they closed.
                if (woken) {
                    Libc.read(wakeFd, sources.asSlice(0, 8));
                    for (Command<?> command; (command = commands.poll()) != null; ) {
                        command.run();
                    }
                }
            }
        } finally {
            for (FfmPort port : ports) {
                if (port != null) {
                    remove(port);
                }
            }
            Libc.close(wakeFd);
            Libc.close(epollFd);
            stopped = true;
            failCommands();
        }
    }

    private void failCommands() {
        for (Command<?> command; (command = commands.poll()) != null; ) {
            command.done.completeExceptionally(new IllegalStateException("the relay has stopped"));
        }
    }

    private void allocateBatch(Arena arena) {
        events = arena.allocate(Libc.EPOLL_EVENT_BYTES * MAX_EVENTS, 8);
        received = arena.allocate(Libc.MMSGHDR_BYTES * TURN_BATCH, 8);
        MemorySegment receiveVectors = arena.allocate(Libc.IOVEC_BYTES * TURN_BATCH, 8);
        sources = arena.allocate(SocketAddresses.SLOT_BYTES * TURN_BATCH, 8);
        slots = arena.allocate(slotBytes * TURN_BATCH, 64);
        sends = arena.allocate(Libc.MMSGHDR_BYTES * BATCH, 8);
        sendVectors = arena.allocate(Libc.IOVEC_BYTES * BATCH, 8);
        sendsFrom = new MemorySegment[BATCH];
        sendState = Libc.callState(arena);
        for (int i = 0; i < TURN_BATCH; i++) {
            long message = Libc.MMSGHDR_BYTES * i;
            long vector = Libc.IOVEC_BYTES * i;
            receiveVectors.set(ADDRESS, vector + Libc.IOV_BASE, slots.asSlice(slotBytes * i));
            receiveVectors.set(JAVA_LONG, vector + Libc.IOV_LEN, slotBytes);
            received.set(ADDRESS, message + Libc.MSG_NAME, sources.asSlice(SocketAddresses.SLOT_BYTES * i));
            received.set(JAVA_INT, message + Libc.MSG_NAMELEN, (int) SocketAddresses.SLOT_BYTES);
            received.set(ADDRESS, message + Libc.MSG_IOV, receiveVectors.asSlice(vector));
            received.set(JAVA_LONG, message + Libc.MSG_IOVLEN, 1);
        }
        for (int i = 0; i < BATCH; i++) {
            long message = Libc.MMSGHDR_BYTES * i;
            long vector = Libc.IOVEC_BYTES * i;
            sends.set(ADDRESS, message + Libc.MSG_IOV, sendVectors.asSlice(vector));
            sends.set(JAVA_LONG, message + Libc.MSG_IOVLEN, 1);
            sendsFrom[i] = sends.asSlice(message);
        }
        turnForwarding = new TurnForwarding(arena, received, sources, slots, slotBytes);
        heldSlot = arena.allocate(slotBytes, 8);
        heldVector = arena.allocate(Libc.IOVEC_BYTES, 8);
        heldVector.set(ADDRESS, Libc.IOV_BASE, heldSlot);
        heldMessage = new MemorySegment[] {arena.allocate(Libc.MMSGHDR_BYTES, 8)};
        heldMessage[0].set(ADDRESS, Libc.MSG_IOV, heldVector);
        heldMessage[0].set(JAVA_LONG, Libc.MSG_IOVLEN, 1);
    }

    /** Reads what {@code in} holds (a few batches at most, for fairness) and forwards what its pair lets through. */
    private void pump(FfmPort in, long now) {
        for (int round = 0; round < BATCHES_PER_WAKEUP; round++) {
            int batch = in.turn != null ? TURN_BATCH : BATCH;
            int got = Libc.recvmmsg(in.fd, received, batch, Libc.MSG_DONTWAIT);
            if (got <= 0) {
                return; // empty (EAGAIN), or an error a UDP socket recovers from by itself
            }
            if (in.turn != null) {
                in.turn.forward(turnForwarding, got, now);
            } else if (in.other != null) {
                forward(in, in.other, got, now);
            }
            for (int i = 0; i < got; i++) { // the kernel shortened them to each source's length
                received.set(JAVA_INT, Libc.MMSGHDR_BYTES * i + Libc.MSG_NAMELEN, (int) SocketAddresses.SLOT_BYTES);
            }
            if (got < batch) {
                return;
            }
        }
    }

    private void forward(FfmPort in, FfmPort out, int got, long now) {
        int queued = 0;
        long bytes = 0;
        for (int i = 0; i < got; i++) {
            long message = Libc.MMSGHDR_BYTES * i;
            int length = received.get(JAVA_INT, message + Libc.MSG_LEN);
            if (length > maxDatagram || (received.get(JAVA_INT, message + Libc.MSG_FLAGS) & Libc.MSG_TRUNC) != 0) {
                counters.increment(RelayCounter.DROPPED_OVERSIZED);
                continue;
            }
            if (decide(in, i, length, now) == RelayVerdict.FORWARD) {
                long send = Libc.MMSGHDR_BYTES * queued;
                long vector = Libc.IOVEC_BYTES * queued;
                // Raw addresses (the platforms served are 64-bit): no segment made per datagram.
                sendVectors.set(JAVA_LONG, vector + Libc.IOV_BASE, slots.address() + slotBytes * i);
                sendVectors.set(JAVA_LONG, vector + Libc.IOV_LEN, length);
                sends.set(JAVA_LONG, send + Libc.MSG_NAME, out.claimed.address());
                sends.set(JAVA_INT, send + Libc.MSG_NAMELEN, out.claimedLength);
                queued++;
                bytes += length;
            }
        }
        if (queued > 0) {
            in.pair.countForwardedBytes(bytes);
            send(out, queued);
        }
    }

    /** What {@code in}'s pair says of datagram {@code i}; claiming the side records its source as the kernel gave it. */
    private RelayVerdict decide(FfmPort in, int i, int length, long now) {
        long source = SocketAddresses.SLOT_BYTES * i;
        int sourceLength = received.get(JAVA_INT, Libc.MMSGHDR_BYTES * i + Libc.MSG_NAMELEN);
        if (in.claimedLength > 0) {
            boolean same = sourceLength == in.claimedLength
                    && MemorySegment.mismatch(sources, source, source + sourceLength, in.claimed, 0, sourceLength) == -1;
            RelayVerdict verdict = in.pair.handleDatagramToClaimed(in.side, same, now);
            if (verdict == RelayVerdict.DROPPED_NO_PEER_YET) {
                in.pair.hold(in.side, slots.asSlice(slotBytes * i, length).asByteBuffer());
            }
            return verdict;
        }
        Optional<InetSocketAddress> from = SocketAddresses.read(sources.asSlice(source, sourceLength), sourceLength);
        if (from.isEmpty()) {
            return RelayVerdict.DROPPED_PEER_ADDRESS;
        }
        RelayVerdict verdict = in.pair.handleDatagram(in.side, from.get(),
                slots.asSlice(slotBytes * i, length).asByteBuffer(), now);
        if (in.pair.isClaimed(in.side)) {
            MemorySegment.copy(sources, source, in.claimed, 0, sourceLength);
            in.claimedLength = sourceLength;
            in.pair.takeHeldFor(in.side).ifPresent(d -> sendHeld(in, d));
        }
        return verdict;
    }

    /** Sends what the other side held for {@code in}'s side, just claimed, out of {@code in}'s port to it. */
    private void sendHeld(FfmPort in, byte[] d) {
        if (d.length >= slotBytes) {
            return; // it was held from a slot of this size: cannot happen
        }
        MemorySegment.copy(d, 0, heldSlot, JAVA_BYTE, 0, d.length);
        heldVector.set(JAVA_LONG, Libc.IOV_LEN, d.length);
        heldMessage[0].set(JAVA_LONG, Libc.MSG_NAME, in.claimed.address());
        heldMessage[0].set(JAVA_INT, Libc.MSG_NAMELEN, in.claimedLength);
        refused[0] = 0;
        if (Libc.sendAll(sendState, in.fd, heldMessage, 1, refused) + refused[0] > 0) {
            counters.increment(RelayCounter.DROPPED_BACKPRESSURE);
        }
    }

    private void send(FfmPort out, int queued) {
        refused[0] = 0;
        int unsent = Libc.sendAll(sendState, out.fd, sendsFrom, queued, refused);
        if (unsent > 0) {
            counters.add(RelayCounter.DROPPED_BACKPRESSURE, unsent);
        }
        if (refused[0] > 0) {
            counters.add(RelayCounter.DROPPED_SEND_FAILED, refused[0]);
        }
    }
}
