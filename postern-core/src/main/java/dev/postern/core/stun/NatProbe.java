package dev.postern.core.stun;

import dev.postern.core.codec.Decoded;
import dev.postern.core.net.Transmit;
import dev.postern.core.stun.NatReport.Dependence;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;

/**
 * NAT detection in the manner of RFC 5780, without sockets. It uses two sockets of the caller's: the
 * first asks the server's primary endpoint, its other address, and its other address and port what
 * they see (the mapping, and whether it depends on the destination), then sends to its own public
 * address (hairpinning); the second, fresh so no earlier datagram has opened its NAT, asks for answers
 * from the other address and port, then from the other port only (the filtering). Every request is
 * sent again each retry interval and given up after its tries, so a lost datagram costs time, never a
 * hang; an unanswered filtering request is itself the answer.
 */
public final class NatProbe {

    /** The sockets: 0 for mapping and hairpinning, 1 for filtering, 2 for the mapping lifetime (only when measured). */
    public static final int MAPPING_SOCKET = 0;
    public static final int FILTERING_SOCKET = 1;
    public static final int LIFETIME_SOCKET = 2;
    /** The idle times tried in turn: each on a fresh (or freshly used) mapping. */
    private static final long[] LIFETIME_STEPS_SECONDS = {15, 30, 60, 120, 240, 480};


    /**
     * @param tries            how often a request is sent before it counts as unanswered
     * @param lifetimeMaxNanos the longest idle time to try when measuring the mapping lifetime; 0 skips it
     *                         (it takes about twice that long)
     */
    public record Settings(long retryNanos, int tries, long lifetimeMaxNanos) {
        public static final Settings DEFAULTS = new Settings(300_000_000L, 4, 0);
        /** A node only needs its mapping, and should not hold up its first call for long when the server has no detection. */
        public static final Settings FOR_NODES = new Settings(300_000_000L, 3, 0);

        public Settings withLifetimeUpTo(Duration max) {
            return new Settings(retryNanos, tries, max.toNanos());
        }
    }

    private enum Step { PRIMARY, OTHER_ADDRESS, OTHER_ADDRESS_AND_PORT, HAIRPIN, FILTER_ANY, FILTER_ADDRESS, LIFETIME_OPEN, LIFETIME_WAIT,
        LIFETIME_CHECK, DONE }

    /** Padding: a request as long as the longest answer (three IPv6 addresses, 92 bytes), so the server may answer. */
    private static final int REQUEST_BYTES = 96;

    private final InetSocketAddress primary;
    private final Set<InetAddress> ownAddresses;
    private final int ownPort;
    private final Settings settings;
    private final SecureRandom random;
    private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();
    private Step step = Step.PRIMARY;
    private byte[] transaction;
    private Transmit pending;
    private int triesLeft;
    private long nextTry;
    private InetSocketAddress mapped1;
    private InetSocketAddress mapped2;
    private InetSocketAddress other;
    private Dependence mapping;
    private Dependence filtering;
    private Optional<Boolean> hairpinning = Optional.empty();
    private Optional<NatReport> report = Optional.empty();
    /** The socket the pending request's answer arrives on (another one's, for a lifetime check). */
    private int receiveOn;
    private int lifetimeStep;
    private InetSocketAddress lifetimeMapped;
    private Optional<NatReport.Lifetime> lifetime = Optional.empty();
    private Optional<String> failure = Optional.empty();

    /**
     * @param primary      the server's primary NAT-detection endpoint
     * @param ownAddresses this machine's addresses (the server seeing one of them means no NAT)
     * @param ownPort      the mapping socket's local port
     */
    public NatProbe(InetSocketAddress primary, Set<InetAddress> ownAddresses, int ownPort, Settings settings, SecureRandom random) {
        this.primary = primary;
        this.ownAddresses = Set.copyOf(ownAddresses);
        this.ownPort = ownPort;
        this.settings = settings;
        this.random = random;
    }

    public void start(long now) {
        ask(MAPPING_SOCKET, primary, false, false, now);
    }

    /** The finished report. */
    public Optional<NatReport> report() {
        return report;
    }

    /** The mapping behaviour, as soon as it is known (before filtering and hairpinning are). */
    public Optional<Dependence> mapping() {
        return Optional.ofNullable(mapping);
    }

    /** Why detection could not finish (the server never answered). */
    public Optional<String> failure() {
        return failure;
    }

    public boolean isDone() {
        return step == Step.DONE;
    }

    public Optional<Transmit> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    public long pollTimeout() {
        return step == Step.DONE ? Long.MAX_VALUE : nextTry;
    }

    public void handleTimeout(long now) {
        if (step == Step.DONE || now - nextTry < 0) {
            return;
        }
        if (step == Step.LIFETIME_WAIT) {
            step = Step.LIFETIME_CHECK;
            ask(MAPPING_SOCKET, primary, false, false, lifetimeMapped.getPort(), now);
            receiveOn = LIFETIME_SOCKET;
        } else if (triesLeft > 0) {
            send(now);
        } else {
            unanswered(now);
        }
    }

    public void handleDatagram(int socket, InetSocketAddress from, byte[] datagram, long now) {
        if (step == Step.DONE || pending == null || socket != receiveOn) {
            return;
        }
        if (step == Step.HAIRPIN) {
            if (Binding.requestTransaction(datagram).filter(t -> Arrays.equals(t, transaction)).isPresent()) {
                hairpinning = Optional.of(true);
                next(now);
            }
            return;
        }
        if (!(Binding.decodeResponse(datagram) instanceof Decoded.Ok<Binding.Response> ok)
                || !Arrays.equals(ok.value().transaction(), transaction)) {
            return;
        }
        Binding.Response r = ok.value();
        switch (step) {
            case PRIMARY -> {
                mapped1 = r.mapped();
                other = r.other().orElse(null);
            }
            case OTHER_ADDRESS -> mapped2 = r.mapped();
            case OTHER_ADDRESS_AND_PORT -> mapping = r.mapped().equals(mapped2) ? Dependence.ADDRESS_DEPENDENT
                    : Dependence.ADDRESS_AND_PORT_DEPENDENT;
            case FILTER_ANY -> filtering = Dependence.ENDPOINT_INDEPENDENT;
            case FILTER_ADDRESS -> filtering = Dependence.ADDRESS_DEPENDENT;
            case LIFETIME_OPEN -> lifetimeMapped = r.mapped();
            case LIFETIME_CHECK -> lifetime = Optional.of(new NatReport.Lifetime(lifetimeIdle(), Optional.empty()));
            default -> { }
        }
        next(now);
    }

    private Duration lifetimeIdle() {
        return Duration.ofSeconds(LIFETIME_STEPS_SECONDS[lifetimeStep]);
    }

    /** The step's request went unanswered through all its tries. */
    private void unanswered(long now) {
        switch (step) {
            case PRIMARY -> {
                failure = Optional.of("the server's NAT detection at " + primary + " did not answer");
                step = Step.DONE;
                return;
            }
            case OTHER_ADDRESS, OTHER_ADDRESS_AND_PORT -> {
                failure = Optional.of("the server's other address did not answer: it may not have one");
                step = Step.DONE;
                return;
            }
            case HAIRPIN -> hairpinning = Optional.of(false);
            case FILTER_ADDRESS -> filtering = Dependence.ADDRESS_AND_PORT_DEPENDENT;
            case LIFETIME_OPEN -> {
                finish(); // the lifetime socket got no answer: report without it
                return;
            }
            case LIFETIME_CHECK -> {
                // Gone after this idle time: it lasted at least the previous one.
                Duration below = lifetimeIdle();
                Duration atLeast = lifetimeStep == 0 ? Duration.ZERO
                        : Duration.ofSeconds(LIFETIME_STEPS_SECONDS[lifetimeStep - 1]);
                lifetime = Optional.of(new NatReport.Lifetime(atLeast, Optional.of(below)));
                finish();
                return;
            }
            default -> { }
        }
        next(now);
    }

    private void next(long now) {
        switch (step) {
            case PRIMARY -> {
                if (other == null) {
                    failure = Optional.of("the server has no second address for NAT detection");
                    step = Step.DONE;
                    return;
                }
                step = Step.OTHER_ADDRESS;
                ask(MAPPING_SOCKET, new InetSocketAddress(other.getAddress(), primary.getPort()), false, false, now);
            }
            case OTHER_ADDRESS -> {
                if (mapped2.equals(mapped1)) {
                    mapping = Dependence.ENDPOINT_INDEPENDENT;
                    hairpinOrFilter(now);
                } else {
                    step = Step.OTHER_ADDRESS_AND_PORT;
                    ask(MAPPING_SOCKET, other, false, false, now);
                }
            }
            case OTHER_ADDRESS_AND_PORT, HAIRPIN -> {
                if (step == Step.OTHER_ADDRESS_AND_PORT) {
                    hairpinOrFilter(now);
                } else {
                    filter(now);
                }
            }
            case FILTER_ANY -> {
                if (filtering != null) {
                    measureLifetimeOrFinish(now);
                } else {
                    step = Step.FILTER_ADDRESS;
                    ask(FILTERING_SOCKET, primary, false, true, now);
                }
            }
            case FILTER_ADDRESS -> measureLifetimeOrFinish(now);
            case LIFETIME_OPEN -> {
                step = Step.LIFETIME_WAIT;
                nextTry = now + lifetimeIdle().toNanos();
            }
            case LIFETIME_CHECK -> {
                if (lifetimeStep + 1 < LIFETIME_STEPS_SECONDS.length
                        && LIFETIME_STEPS_SECONDS[lifetimeStep + 1] * 1_000_000_000L <= settings.lifetimeMaxNanos()) {
                    lifetimeStep++;
                    step = Step.LIFETIME_OPEN;
                    ask(LIFETIME_SOCKET, primary, false, false, now);
                } else {
                    finish();
                }
            }
            case LIFETIME_WAIT, DONE -> { }
        }
    }

    private void hairpinOrFilter(long now) {
        if (translated()) {
            step = Step.HAIRPIN;
            ask(MAPPING_SOCKET, mapped1, false, false, now);
        } else {
            filter(now);
        }
    }

    private void filter(long now) {
        step = Step.FILTER_ANY;
        ask(FILTERING_SOCKET, primary, true, true, now);
    }

    /** The lifetime is measured on request, and only where a NAT keeps mappings. */
    private void measureLifetimeOrFinish(long now) {
        if (settings.lifetimeMaxNanos() < LIFETIME_STEPS_SECONDS[0] * 1_000_000_000L || !translated()) {
            finish();
            return;
        }
        step = Step.LIFETIME_OPEN;
        ask(LIFETIME_SOCKET, primary, false, false, now);
    }

    private void finish() {
        report = Optional.of(new NatReport(mapped1, translated(), mapping, filtering, mapped1.getPort() == ownPort, hairpinning, lifetime));
        step = Step.DONE;
    }

    private boolean translated() {
        return !(ownAddresses.contains(mapped1.getAddress()) && mapped1.getPort() == ownPort);
    }

    private void ask(int socket, InetSocketAddress to, boolean changeIp, boolean changePort, long now) {
        ask(socket, to, changeIp, changePort, 0, now);
    }

    private void ask(int socket, InetSocketAddress to, boolean changeIp, boolean changePort, int responsePort, long now) {
        transaction = new byte[12];
        random.nextBytes(transaction);
        receiveOn = socket;
        pending = new Transmit(socket, to, Binding.request(transaction, changeIp, changePort, responsePort, REQUEST_BYTES));
        triesLeft = settings.tries();
        send(now);
    }

    private void send(long now) {
        transmits.add(pending);
        triesLeft--;
        nextTry = now + settings.retryNanos();
    }
}
