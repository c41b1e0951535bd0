package dev.postern.core.time;

/**
 * The time, injected everywhere so that tests advance it instead of sleeping.
 *
 * <p>Deadlines use {@link #nanoTime()}, which never jumps; {@link #epochMillis()} is only for
 * timestamps shown to people and peers.
 */
public interface Clock {

    /** Monotonic nanoseconds with an arbitrary origin; compare as {@code a - b < 0}, never {@code a < b}. */
    long nanoTime();

    /** Wall-clock milliseconds since the Unix epoch. */
    long epochMillis();

    Clock SYSTEM = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public long epochMillis() {
            return System.currentTimeMillis();
        }

        @Override
        public String toString() {
            return "Clock.SYSTEM";
        }
    };
}
