package dev.postern.server.rendezvous.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExpiryWheelTest {

    private static final long TICK = 100;

    static final class Timer extends ExpiryWheel.Node {
        final int id;

        Timer(int id) {
            this.id = id;
        }
    }

    private final List<Timer> fired = new ArrayList<>();
    private final Map<Timer, Long> firedAt = new HashMap<>();

    private int poll(ExpiryWheel wheel, long now) {
        return wheel.poll(now, Timer.class, (t, at) -> {
            fired.add(t);
            firedAt.put(t, at);
        });
    }

    @Test
    void everyTimerFiresOnceNoEarlierThanItsDeadlineAndWithinOneTickOfIt() {
        long start = 1_000_000;
        ExpiryWheel wheel = new ExpiryWheel(TICK, 64, start);
        Random random = new Random(42);
        Map<Timer, Long> deadlines = new HashMap<>();
        for (int i = 0; i < 2_000; i++) {
            Timer t = new Timer(i);
            // Up to 5 rounds of the wheel ahead, so later rounds share slots with earlier ones.
            long deadline = start + random.nextInt(64 * (int) TICK * 5);
            deadlines.put(t, deadline);
            wheel.schedule(t, deadline);
        }
        assertThat(wheel.size()).isEqualTo(2_000);

        for (long now = start; now <= start + 64 * TICK * 5 + TICK; now += 37) {
            poll(wheel, now);
        }

        assertThat(fired).hasSize(2_000).doesNotHaveDuplicates();
        assertThat(wheel.size()).isZero();
        deadlines.forEach((t, deadline) ->
                assertThat(firedAt.get(t)).isGreaterThanOrEqualTo(deadline).isLessThanOrEqualTo(deadline + TICK + 37));
    }

    @Test
    void cancelledTimerNeverFiresAndRescheduledOneFiresAtItsNewDeadline() {
        ExpiryWheel wheel = new ExpiryWheel(TICK, 16, 0);
        Timer cancelled = new Timer(1);
        Timer moved = new Timer(2);
        wheel.schedule(cancelled, 150);
        wheel.schedule(moved, 150);

        wheel.cancel(cancelled);
        wheel.schedule(moved, 950);
        poll(wheel, 900);
        assertThat(fired).isEmpty();

        poll(wheel, 1000);
        assertThat(fired).containsExactly(moved);
        assertThat(wheel.size()).isZero();
    }

    @Test
    void deadlineLaterInTheTickBeingPolledIsNotSkipped() {
        ExpiryWheel wheel = new ExpiryWheel(TICK, 16, 0);
        Timer t = new Timer(1);
        wheel.schedule(t, 180);

        poll(wheel, 120);
        assertThat(fired).isEmpty();
        poll(wheel, 185);
        assertThat(fired).containsExactly(t);
    }

    @Test
    void deadlineAlreadyPastFiresOnTheNextPoll() {
        ExpiryWheel wheel = new ExpiryWheel(TICK, 16, 0);
        poll(wheel, 1_000);
        Timer late = new Timer(1);
        wheel.schedule(late, 10);

        poll(wheel, 1_001);
        assertThat(fired).containsExactly(late);
    }

    @Test
    void longPauseBetweenPollsStillFiresEverythingDue() {
        ExpiryWheel wheel = new ExpiryWheel(TICK, 8, 0);
        List<Timer> timers = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            Timer t = new Timer(i);
            timers.add(t);
            wheel.schedule(t, i * 50L);
        }

        assertThat(poll(wheel, 1_000_000)).isEqualTo(100);
        assertThat(fired).containsExactlyInAnyOrderElementsOf(timers);
    }

    @Test
    void handlerMayRescheduleTheTimerItIsGiven() {
        ExpiryWheel wheel = new ExpiryWheel(TICK, 8, 0);
        Timer t = new Timer(1);
        wheel.schedule(t, 100);
        List<Long> at = new ArrayList<>();

        for (long now = 0; now <= 1_000; now += 10) {
            wheel.poll(now, Timer.class, (timer, when) -> {
                at.add(when);
                if (at.size() < 3) {
                    wheel.schedule(timer, when + 300);
                }
            });
        }

        assertThat(at).containsExactly(100L, 400L, 700L);
    }
}
