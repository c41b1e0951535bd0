package dev.postern.bench;

import dev.postern.client.internal.control.NodeLoop;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.time.Clock;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A real node with a new identity connecting to a server, timed, and gone again: the benches' real request. */
final class NodeConnect {

    private NodeConnect() {}

    /** How long a new node took to connect; empty if it did not within {@code giveUp} (or could not open its socket). */
    static OptionalLong time(NodeId server, InetSocketAddress control, SecureRandom random, Duration giveUp) {
        CountDownLatch up = new CountDownLatch(1);
        long start = System.nanoTime();
        try (NodeLoop node = NodeLoop.open(NodeKeys.generate(random), server, control, Clock.SYSTEM, event -> {
            if (event instanceof NodeEvent.ServerConnected) {
                up.countDown();
            }
        })) {
            boolean connected = up.await(giveUp.toMillis(), TimeUnit.MILLISECONDS);
            return connected ? OptionalLong.of(System.nanoTime() - start) : OptionalLong.empty();
        } catch (java.io.IOException e) {
            return OptionalLong.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalLong.empty();
        }
    }
}
