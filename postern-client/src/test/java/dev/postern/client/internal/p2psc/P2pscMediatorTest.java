package dev.postern.server.p2psc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.core.p2psc.P2pscMessage;
import dev.postern.client.internal.p2psc.P2pscStream;
import dev.postern.core.p2psc.RsaKeys;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The p2psc-compatible mediator, used by clients written from p2psc's protocol description. */
class P2pscMediatorTest {

    private static final KeyPairGenerator RSA;

    static {
        try {
            RSA = KeyPairGenerator.getInstance("RSA");
            RSA.initialize(2048);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final P2pscMediatorRole mediator = start(Duration.ofSeconds(30));
    private final KeyPair alice = RSA.generateKeyPair();
    private final KeyPair bob = RSA.generateKeyPair();

    private static P2pscMediatorRole start(Duration peerWait) {
        try {
            return P2pscMediatorRole.start(InetAddress.getLoopbackAddress(), 0,
                    new P2pscMediatorRole.Settings(16, 16, Duration.ofSeconds(10), peerWait));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @AfterEach
    void stop() {
        mediator.close();
    }

    private Socket open() throws IOException {
        Socket s = new Socket(mediator.address().getAddress(), mediator.address().getPort());
        s.setSoTimeout(20_000);
        return s;
    }

    private static String pem(KeyPair k) {
        return RsaKeys.toPem((RSAPublicKey) k.getPublic());
    }

    /** Who advertises first: the first waits for the second; at once, the mediator's own order decides. */
    enum Order { ALICE_FIRST, BOB_FIRST, AT_ONCE }

    /**
     * The real client's flaws are what broke it: it binds its listener on its mediator port the moment it has
     * closed, and its first peer dials twice only. 20 runs of each order, each a fresh pair of clients.
     */
    @ParameterizedTest
    @EnumSource(Order.class)
    void twoOriginalClientsAreIntroducedAndProveTheirKeysToEachOtherEveryTime(Order order) throws Exception {
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int run = 1; run <= 20; run++) {
                long advertised = mediator.counters().get(P2pscCounter.ADVERTISED);
                KeyPair early = order == Order.BOB_FIRST ? bob : alice;
                KeyPair late = early == alice ? bob : alice;
                // Each on a thread of its own: each waits for the other.
                CompletableFuture<Socket> first = CompletableFuture.supplyAsync(() -> connect(early, late), threads);
                if (order != Order.AT_ONCE) {
                    await().atMost(Duration.ofSeconds(10)).until(() -> mediator.counters().get(P2pscCounter.ADVERTISED) > advertised);
                }
                CompletableFuture<Socket> second = CompletableFuture.supplyAsync(() -> connect(late, early), threads);
                try (Socket a = first.get(30, TimeUnit.SECONDS); Socket b = second.get(30, TimeUnit.SECONDS)) {
                    String there = "bananarama! " + run;
                    String back = "and back " + run;
                    a.getOutputStream().write(there.getBytes(StandardCharsets.UTF_8));
                    assertThat(new String(b.getInputStream().readNBytes(there.length()), StandardCharsets.UTF_8)).as("run %d", run).isEqualTo(there);
                    b.getOutputStream().write(back.getBytes(StandardCharsets.UTF_8));
                    assertThat(new String(a.getInputStream().readNBytes(back.length()), StandardCharsets.UTF_8)).as("run %d", run).isEqualTo(back);
                }
            }
        }
        assertThat(mediator.counters().get(P2pscCounter.PAIRED)).isEqualTo(20);
        assertThat(mediator.counters().get(P2pscCounter.ADVERTISED)).isEqualTo(40);
    }

    private Socket connect(KeyPair me, KeyPair them) {
        try {
            return new OriginalP2pscClient(me, (RSAPublicKey) them.getPublic(), mediator.address()).connect();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void anotherVersionIsAbortedWithTheRequiredOne() throws Exception {
        try (Socket s = open()) {
            P2pscStream io = new P2pscStream(s);
            io.send(new P2pscMessage.Advertise(1, pem(alice), pem(bob)));

            assertThat(io.expect(P2pscMessage.AdvertiseAbort.class).reason()).isEqualTo("Required protocol version: 0");
            assertThat(io.receive()).as("then closed").isEmpty();
        }
    }

    @Test
    void somethingThatIsNoKeyIsAborted() throws Exception {
        try (Socket s = open()) {
            P2pscStream io = new P2pscStream(s);
            io.send(new P2pscMessage.Advertise(0, "hello", pem(bob)));

            assertThat(io.expect(P2pscMessage.AdvertiseAbort.class).reason()).contains("RSA public key");
        }
    }

    @Test
    void aWrongNonceClosesTheConnection() throws Exception {
        try (Socket s = open()) {
            P2pscStream io = new P2pscStream(s);
            io.send(new P2pscMessage.Advertise(0, pem(alice), pem(bob)));
            io.expect(P2pscMessage.AdvertiseChallenge.class);
            io.send(new P2pscMessage.AdvertiseResponse("1337"));

            assertThat(io.receive()).isEmpty();
            assertThat(mediator.counters().get(P2pscCounter.FAILED_CHALLENGE)).isEqualTo(1);
        }
    }

    @Test
    void aPeerWhoseMatchNeverComesIsToldSoAfterTheWait() throws Exception {
        try (P2pscMediatorRole quick = start(Duration.ofMillis(500));
                Socket s = new Socket(quick.address().getAddress(), quick.address().getPort())) {
            s.setSoTimeout(20_000);
            P2pscStream io = new P2pscStream(s);
            io.send(new P2pscMessage.Advertise(0, pem(alice), pem(bob)));
            String challenge = io.expect(P2pscMessage.AdvertiseChallenge.class).encryptedNonce();
            io.send(new P2pscMessage.AdvertiseResponse(RsaKeys.decrypt(alice.getPrivate(), challenge).orElseThrow()));

            assertThat(io.expect(P2pscMessage.AdvertiseAbort.class).reason()).contains("did not advertise within");
            assertThat(quick.counters().get(P2pscCounter.PEER_TIMEOUTS)).isEqualTo(1);
        }
    }

    @Test
    void peersArePairedOnlyWhenEachWantsTheOther() throws Exception {
        KeyPair carol = RSA.generateKeyPair();
        try (P2pscMediatorRole quick = start(Duration.ofMillis(800));
                Socket a = new Socket(quick.address().getAddress(), quick.address().getPort());
                Socket b = new Socket(quick.address().getAddress(), quick.address().getPort())) {
            P2pscStream aliceWantsBob = advertise(a, alice, bob);
            P2pscStream bobWantsCarol = advertise(b, bob, carol);

            assertThat(aliceWantsBob.expect(P2pscMessage.AdvertiseAbort.class).reason()).contains("did not advertise");
            assertThat(bobWantsCarol.expect(P2pscMessage.AdvertiseAbort.class).reason()).contains("did not advertise");
            assertThat(quick.counters().get(P2pscCounter.PAIRED)).isZero();
        }
    }

    private static P2pscStream advertise(Socket s, KeyPair me, KeyPair them) throws IOException {
        s.setSoTimeout(20_000);
        P2pscStream io = new P2pscStream(s);
        io.send(new P2pscMessage.Advertise(0, pem(me), pem(them)));
        String challenge = io.expect(P2pscMessage.AdvertiseChallenge.class).encryptedNonce();
        io.send(new P2pscMessage.AdvertiseResponse(RsaKeys.decrypt(me.getPrivate(), challenge).orElseThrow()));
        return io;
    }

    /** One byte every 200 ms kept a connection past its step limit; the limit is for the whole message now. */
    @Test
    void aDripFedMessageIsCutAtItsStepDeadline() throws Exception {
        try (P2pscMediatorRole quick = P2pscMediatorRole.start(InetAddress.getLoopbackAddress(), 0,
                new P2pscMediatorRole.Settings(16, 16, Duration.ofMillis(600), Duration.ofSeconds(30)));
                Socket s = new Socket(quick.address().getAddress(), quick.address().getPort())) {
            s.setSoTimeout(5_000);
            byte[] advert = dev.postern.core.p2psc.P2pscCodec.encode(new P2pscMessage.Advertise(0, pem(alice), pem(bob)))
                    .getBytes(StandardCharsets.UTF_8);
            long start = System.nanoTime();
            boolean cut = false;
            for (int i = 0; i < 20 && !cut; i++) { // bounded: 20 bytes, 4 s at most
                try {
                    s.getOutputStream().write(advert[i]);
                    s.getOutputStream().flush();
                    Thread.sleep(200); // the drip is the attack: a byte every 200 ms
                } catch (IOException reset) {
                    cut = true;
                }
                if (!cut && s.getInputStream().available() == 0) {
                    s.setSoTimeout(1);
                    try {
                        cut = s.getInputStream().read() < 0;
                    } catch (java.net.SocketTimeoutException open) {
                        // still open
                    } catch (IOException reset) {
                        cut = true;
                    }
                    s.setSoTimeout(5_000);
                }
            }
            assertThat(cut).as("closed while the bytes kept coming").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2_000));
            assertThat(quick.counters().get(P2pscCounter.PROTOCOL_ERRORS)).isEqualTo(1);
        }
    }

    /** 1,024 drip-fed connections from one address held every slot; now an address has its share and others get in. */
    @Test
    void oneAddressCannotHoldEverySlot() throws Exception {
        try (P2pscMediatorRole small = P2pscMediatorRole.start(InetAddress.getLoopbackAddress(), 0,
                new P2pscMediatorRole.Settings(8, 3, Duration.ofSeconds(10), Duration.ofSeconds(30)))) {
            java.util.List<Socket> held = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(new Socket(small.address().getAddress(), small.address().getPort()));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> small.counters().get(P2pscCounter.CONNECTIONS) == 3);
                try (Socket fourth = new Socket(small.address().getAddress(), small.address().getPort())) {
                    fourth.setSoTimeout(5_000);
                    assertThat(fourth.getInputStream().read()).as("closed at once").isEqualTo(-1);
                }
                try (Socket other = new Socket()) {
                    other.bind(new java.net.InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
                    other.connect(small.address(), 5_000);
                    advertise(other, alice, bob);
                }
                assertThat(small.counters().get(P2pscCounter.REFUSED_SOURCE)).isEqualTo(1);
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    /** A key with a 3,070-bit public exponent cost 12 times the CPU of a normal one to challenge. */
    @Test
    void aKeyWithAHugePublicExponentIsRefused() throws Exception {
        // As the attack sent it: a 4,096-bit modulus (odd; nothing checks more) and a 3,070-bit exponent.
        java.math.BigInteger modulus = new java.math.BigInteger(4096, new java.util.Random(5)).setBit(4095).setBit(0);
        java.math.BigInteger exponent = java.math.BigInteger.ONE.shiftLeft(3070).add(java.math.BigInteger.ONE);
        RSAPublicKey heavy = new RSAPublicKey() {
            @Override
            public java.math.BigInteger getPublicExponent() {
                return exponent;
            }

            @Override
            public java.math.BigInteger getModulus() {
                return modulus;
            }

            @Override
            public String getAlgorithm() {
                return "RSA";
            }

            @Override
            public String getFormat() {
                return null;
            }

            @Override
            public byte[] getEncoded() {
                return null;
            }
        };
        try (Socket s = open()) {
            P2pscStream io = new P2pscStream(s);
            io.send(new P2pscMessage.Advertise(0, RsaKeys.toPem(heavy), pem(bob)));

            assertThat(io.expect(P2pscMessage.AdvertiseAbort.class).reason()).contains("RSA public key");
            assertThat(mediator.counters().get(P2pscCounter.ABORTED_KEY)).isEqualTo(1);
        }
    }

    @Test
    void aMessageSplitAcrossWritesIsReadWhole() throws Exception {
        try (Socket s = open()) {
            byte[] advert = dev.postern.core.p2psc.P2pscCodec.encode(new P2pscMessage.Advertise(0, pem(alice), pem(bob)))
                    .getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(advert, 0, 7);
            out.flush();
            out.write(advert, 7, advert.length - 7);
            out.flush();

            assertThat(new P2pscStream(s).expect(P2pscMessage.AdvertiseChallenge.class).encryptedNonce()).isNotEmpty();
        }
    }
}
