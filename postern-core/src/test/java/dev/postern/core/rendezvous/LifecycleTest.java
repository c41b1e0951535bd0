package dev.postern.core.rendezvous;

import static dev.postern.core.rendezvous.ClientState.GONE;
import static dev.postern.core.rendezvous.ClientState.ONLINE;
import static dev.postern.core.rendezvous.ClientState.PENDING;
import static dev.postern.core.rendezvous.ClientState.REGISTERED;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LifecycleTest {

    private static final long S = 1_000_000_000L;
    private final Lifecycle lifecycle = new Lifecycle(
            new RendezvousTimers(Duration.ofSeconds(30), Duration.ofSeconds(180), Duration.ofSeconds(300)));
    private final long t0 = 5_000 * S;

    @Test
    void neverPulsedClientIsRegisteredUntilItsTtlRunsOut() {
        assertThat(lifecycle.state(t0, t0, Lifecycle.NEVER, 0)).isEqualTo(REGISTERED);
        assertThat(lifecycle.state(t0 + 300 * S, t0, Lifecycle.NEVER, 0)).isEqualTo(REGISTERED);
        assertThat(lifecycle.state(t0 + 300 * S + 1, t0, Lifecycle.NEVER, 0)).isEqualTo(GONE);
        assertThat(lifecycle.stateEnds(REGISTERED, t0, 0)).isEqualTo(t0 + 300 * S);
    }

    @Test
    void pulsedClientIsOnlineForAnIntervalThenPendingForTheErrorTimeThenGone() {
        long pulse = t0 + 10 * S;
        long onlineUntil = lifecycle.onlineUntil(pulse);

        assertThat(onlineUntil).isEqualTo(pulse + 30 * S);
        assertThat(lifecycle.state(pulse + 30 * S, t0, pulse, onlineUntil)).isEqualTo(ONLINE);
        assertThat(lifecycle.state(pulse + 30 * S + 1, t0, pulse, onlineUntil)).isEqualTo(PENDING);
        assertThat(lifecycle.state(pulse + 210 * S, t0, pulse, onlineUntil)).isEqualTo(PENDING);
        assertThat(lifecycle.state(pulse + 210 * S + 1, t0, pulse, onlineUntil)).isEqualTo(GONE);
        assertThat(lifecycle.stateEnds(ONLINE, t0, onlineUntil)).isEqualTo(pulse + 30 * S);
        assertThat(lifecycle.stateEnds(PENDING, t0, onlineUntil)).isEqualTo(pulse + 210 * S);
    }

    @Test
    void registrationTtlNoLongerAppliesOncePulsed() {
        long pulse = t0 + 290 * S;
        long onlineUntil = lifecycle.onlineUntil(pulse);

        assertThat(lifecycle.state(t0 + 310 * S, t0, pulse, onlineUntil)).isEqualTo(ONLINE);
    }

    @Test
    void apiShowsOnlyOnlineAndPending() {
        assertThat(ONLINE.apiStatus()).isEqualTo("ONLINE");
        assertThat(PENDING.apiStatus()).isEqualTo("PENDING");
        assertThat(REGISTERED.apiStatus()).isEqualTo("PENDING");
    }

    @Test
    void timersMustBePositive() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> new RendezvousTimers(Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pulse interval");
    }
}
