package dev.postern.server.rendezvous.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.ClientState;
import dev.postern.core.rendezvous.Lifecycle;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.server.rendezvous.store.RendezvousStore.InsertResult;
import dev.postern.testkit.ManualClock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The lifecycle, driven by a manual clock: no sleeps, exact boundaries. */
class MemoryRendezvousStoreTest {

    private static final Duration INTERVAL = Duration.ofSeconds(30);
    private static final Duration ERROR_TIME = Duration.ofSeconds(180);
    private static final Duration TTL = Duration.ofSeconds(300);
    private static final Duration EPSILON = Duration.ofMillis(1);

    private final ManualClock clock = new ManualClock();
    private final List<ClientId> expired = new ArrayList<>();
    private final MemoryRendezvousStore store = new MemoryRendezvousStore(
            new Lifecycle(new RendezvousTimers(INTERVAL, ERROR_TIME, TTL)), 1_000, 1_000, clock.nanoTime(), expired::add);
    private final Random random = new Random(1);
    private final InetSocketAddress home = new InetSocketAddress("203.0.113.7", 40000);
    private final InetSocketAddress elsewhere = new InetSocketAddress("198.51.100.9", 50000);

    private record Client(ClientId id, PrivateId key) {}

    private Client register() {
        Client c = new Client(ClientId.random(random), PrivateId.random(random));
        assertThat(store.insert(c.id(), c.key(), home.getAddress(), now())).isEqualTo(InsertResult.INSERTED);
        return c;
    }

    private long now() {
        return clock.nanoTime();
    }

    private ClientState state(Client c) {
        return store.peer(c.id(), now()).map(PeerRecord::state).orElse(ClientState.GONE);
    }

    @Test
    void registeredClientHasNoEndpointUntilItPulses() {
        Client c = register();

        PeerRecord peer = store.peer(c.id(), now()).orElseThrow();
        assertThat(peer.state()).isEqualTo(ClientState.REGISTERED);
        assertThat(peer.knownEndpoint()).isEmpty();
        assertThat(peer.sinceLastPulse(now())).isEmpty();
        assertThat(store.authenticate(c.key(), now())).contains(c.id());
    }

    @Test
    void pulseMakesItOnlineAtTheDatagramsSource() {
        Client c = register();

        assertThat(store.pulse(c.key(), home, now())).isEqualTo(PulseReply.ON_TIME);

        PeerRecord peer = store.peer(c.id(), now()).orElseThrow();
        assertThat(peer.state()).isEqualTo(ClientState.ONLINE);
        assertThat(peer.knownEndpoint()).contains(home);
        clock.advance(Duration.ofSeconds(12));
        assertThat(peer.sinceLastPulse(now())).hasValue(Duration.ofSeconds(12).toNanos());
    }

    @Test
    void fullLifecycleOnlinePendingMustVerifyVerifiedThenLoggedOutByTheErrorTime() {
        Client c = register();
        store.pulse(c.key(), home, now());

        clock.advance(INTERVAL);
        assertThat(state(c)).isEqualTo(ClientState.ONLINE);
        clock.advance(EPSILON);
        assertThat(state(c)).isEqualTo(ClientState.PENDING);

        // A pulse while PENDING is answered 1050 and changes nothing, not even the endpoint.
        assertThat(store.pulse(c.key(), elsewhere, now())).isEqualTo(PulseReply.MUST_VERIFY);
        assertThat(store.peer(c.id(), now()).orElseThrow().knownEndpoint()).contains(home);
        assertThat(state(c)).isEqualTo(ClientState.PENDING);

        assertThat(store.verify(c.key(), now())).contains(c.id());
        assertThat(state(c)).isEqualTo(ClientState.ONLINE);
        assertThat(store.pulse(c.key(), elsewhere, now())).isEqualTo(PulseReply.ON_TIME);
        assertThat(store.peer(c.id(), now()).orElseThrow().knownEndpoint()).contains(elsewhere);

        clock.advance(INTERVAL.plus(ERROR_TIME));
        assertThat(state(c)).isEqualTo(ClientState.PENDING);
        clock.advance(EPSILON);
        assertThat(state(c)).isEqualTo(ClientState.GONE);
        assertThat(store.pulse(c.key(), home, now())).isEqualTo(PulseReply.UNKNOWN_CLIENT);
        assertThat(store.authenticate(c.key(), now())).isEmpty();
        assertThat(store.verify(c.key(), now())).isEmpty();
    }

    @Test
    void verifyOnAnOnlineOrNeverPulsedClientIsAHarmlessSuccess() {
        Client online = register();
        Client fresh = register();
        store.pulse(online.key(), home, now());
        clock.advance(Duration.ofSeconds(20));

        assertThat(store.verify(online.key(), now())).contains(online.id());
        assertThat(store.verify(fresh.key(), now())).contains(fresh.id());

        // Neither verify extended anything: ONLINE still ends 30 s after the pulse.
        clock.advance(Duration.ofSeconds(10).plus(EPSILON));
        assertThat(state(online)).isEqualTo(ClientState.PENDING);
        assertThat(state(fresh)).isEqualTo(ClientState.REGISTERED);
    }

    @Test
    void clientThatNeverPulsesIsGoneAfterTheRegistrationTtl() {
        Client c = register();

        clock.advance(TTL);
        assertThat(state(c)).isEqualTo(ClientState.REGISTERED);
        clock.advance(EPSILON);
        assertThat(state(c)).isEqualTo(ClientState.GONE);
        assertThat(store.pulse(c.key(), home, now())).isEqualTo(PulseReply.UNKNOWN_CLIENT);
    }

    @Test
    void logoutRemovesTheClientAtOnce() {
        Client c = register();
        store.pulse(c.key(), home, now());

        assertThat(store.logout(c.key(), now())).contains(c.id());

        assertThat(store.size()).isZero();
        assertThat(store.peer(c.id(), now())).isEmpty();
        assertThat(store.pulse(c.key(), home, now())).isEqualTo(PulseReply.UNKNOWN_CLIENT);
        assertThat(store.logout(c.key(), now())).isEmpty();
    }

    @Test
    void expiryReclaimsGoneClientsSoonAfterTheyGoAndKeepsTheRest() {
        Client silentAfterPulse = register();
        Client neverPulses = register();
        Client keepsPulsing = register();
        store.pulse(silentAfterPulse.key(), home, now());

        Duration step = Duration.ofSeconds(5);
        Duration elapsed = Duration.ZERO;
        while (elapsed.compareTo(Duration.ofSeconds(400)) < 0) {
            clock.advance(step);
            elapsed = elapsed.plus(step);
            store.pulse(keepsPulsing.key(), home, now());
            store.expire(now());
            if (elapsed.equals(INTERVAL.plus(ERROR_TIME).plus(step))) {
                // Reclaimed by its pulse interval and error time, not held until the 300 s registration TTL.
                assertThat(expired).containsExactly(silentAfterPulse.id());
            }
        }

        assertThat(expired).containsExactly(silentAfterPulse.id(), neverPulses.id());
        assertThat(store.size()).isEqualTo(1);
        assertThat(state(keepsPulsing)).isEqualTo(ClientState.ONLINE);
    }

    @Test
    void fullRegistryRefusesAndDuplicateIdsAreRefused() {
        MemoryRendezvousStore small = new MemoryRendezvousStore(
                new Lifecycle(RendezvousTimers.DEFAULTS), 2, 2, now(), id -> { });
        ClientId a = ClientId.random(random);
        PrivateId ka = PrivateId.random(random);

        assertThat(small.insert(a, ka, home.getAddress(), now())).isEqualTo(InsertResult.INSERTED);
        assertThat(small.insert(a, PrivateId.random(random), home.getAddress(), now())).isEqualTo(InsertResult.DUPLICATE_ID);
        assertThat(small.insert(ClientId.random(random), ka, home.getAddress(), now())).isEqualTo(InsertResult.DUPLICATE_ID);
        assertThat(small.insert(ClientId.random(random), PrivateId.random(random), home.getAddress(), now())).isEqualTo(InsertResult.INSERTED);
        assertThat(small.insert(ClientId.random(random), PrivateId.random(random), home.getAddress(), now())).isEqualTo(InsertResult.FULL);
    }

    @Test
    void oneNetworkHoldsOnlyItsShareOfLiveRegistrations() throws Exception {
        // The attack: many addresses of one network register at their per-address rate until the registry is full.
        MemoryRendezvousStore shared = new MemoryRendezvousStore(
                new Lifecycle(new RendezvousTimers(INTERVAL, ERROR_TIME, TTL)), 1_000, 3, now(), id -> { });
        List<Client> fromOneNetwork = new ArrayList<>();
        for (int host = 1; host <= 3; host++) {
            Client c = new Client(ClientId.random(random), PrivateId.random(random));
            assertThat(shared.insert(c.id(), c.key(), InetAddress.getByName("203.0.113." + host), now())).isEqualTo(InsertResult.INSERTED);
            fromOneNetwork.add(c);
        }
        assertThat(shared.insert(ClientId.random(random), PrivateId.random(random), InetAddress.getByName("203.0.113.200"), now()))
                .isEqualTo(InsertResult.PREFIX_FULL);
        assertThat(shared.insert(ClientId.random(random), PrivateId.random(random), InetAddress.getByName("203.0.114.1"), now()))
                .as("the next /24 has its own share").isEqualTo(InsertResult.INSERTED);
        for (int i = 0; i < 3; i++) {
            assertThat(shared.insert(ClientId.random(random), PrivateId.random(random),
                    InetAddress.getByName("2001:db8:1:" + i + "::" + (i + 1)), now())).isEqualTo(InsertResult.INSERTED);
        }
        assertThat(shared.insert(ClientId.random(random), PrivateId.random(random), InetAddress.getByName("2001:db8:1:ffff::9"), now()))
                .as("an IPv6 /48 is one network").isEqualTo(InsertResult.PREFIX_FULL);

        shared.logout(fromOneNetwork.get(0).key(), now());
        assertThat(shared.insert(ClientId.random(random), PrivateId.random(random), InetAddress.getByName("203.0.113.9"), now()))
                .as("a client that leaves gives its place back").isEqualTo(InsertResult.INSERTED);
        clock.advance(TTL.plus(Duration.ofSeconds(1)));
        shared.expire(now());
        assertThat(shared.insert(ClientId.random(random), PrivateId.random(random), InetAddress.getByName("203.0.113.10"), now()))
                .as("so does one that expires").isEqualTo(InsertResult.INSERTED);
    }

    @Test
    void manyClientsStayFindableAcrossTableGrowthAndRemoval() {
        MemoryRendezvousStore big = new MemoryRendezvousStore(
                new Lifecycle(RendezvousTimers.DEFAULTS), 100_000, 100_000, now(), id -> { });
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            Client c = new Client(ClientId.random(random), PrivateId.random(random));
            big.insert(c.id(), c.key(), home.getAddress(), now());
            clients.add(c);
        }
        for (int i = 0; i < clients.size(); i += 2) {
            big.logout(clients.get(i).key(), now());
        }

        assertThat(big.size()).isEqualTo(10_000);
        for (int i = 0; i < clients.size(); i++) {
            Client c = clients.get(i);
            assertThat(big.authenticate(c.key(), now()).isPresent()).isEqualTo(i % 2 == 1);
            assertThat(big.peer(c.id(), now()).isPresent()).isEqualTo(i % 2 == 1);
        }
    }

    @Test
    void batchGivesTheAnswersOfOneByOnePulsesInOrder() {
        Client fresh = register();
        Client online = register();
        Client pending = register();
        store.pulse(online.key(), home, now());
        store.pulse(pending.key(), home, now());
        clock.advance(INTERVAL.plus(EPSILON));
        store.pulse(online.key(), home, now()); // 1050: online is pending too now; verify it back
        store.verify(online.key(), now());
        PrivateId stranger = PrivateId.random(random);

        PulseBatch batch = new PulseBatch(8);
        batch.add(fresh.key(), elsewhere);
        batch.add(stranger, home);
        batch.add(pending.key(), elsewhere);
        batch.add(online.key(), elsewhere);
        batch.add(fresh.key(), home); // the same client again: now ONLINE, and its endpoint moves again
        store.pulse(batch, now());

        assertThat(java.util.stream.IntStream.range(0, batch.size()).mapToObj(batch::reply)).containsExactly(
                PulseReply.ON_TIME, PulseReply.UNKNOWN_CLIENT, PulseReply.MUST_VERIFY, PulseReply.ON_TIME, PulseReply.ON_TIME);
        assertThat(store.peer(fresh.id(), now()).orElseThrow().knownEndpoint()).contains(home);
        assertThat(store.peer(pending.id(), now()).orElseThrow().knownEndpoint()).contains(home);
        assertThat(store.peer(online.id(), now()).orElseThrow().knownEndpoint()).contains(elsewhere);

        batch.clear();
        assertThat(batch.size()).isZero();
        assertThat(batch.add(fresh.key(), home)).isTrue();
    }

    @Test
    void ipv6EndpointIsKeptExactly() {
        Client c = register();
        InetSocketAddress v6 = new InetSocketAddress("2001:db8::42", 3478);

        store.pulse(c.key(), v6, now());

        assertThat(store.peer(c.id(), now()).orElseThrow().knownEndpoint()).contains(v6);
    }
}
