package dev.postern.core.peer;

/**
 * Birthday punching, for a peer behind a NAT that gives every destination a new random port (hard)
 * and one behind a NAT that keeps one port for all (easy). The hard side opens {@code sockets} sockets
 * and sends from each to the easy side's public endpoint, so its NAT holds that many mappings open to
 * that endpoint; the easy side sends to random ports of the hard side's address, each guess opening
 * its own NAT toward that port. A guess that lands on one of the hard side's mappings goes through,
 * and so does that socket's next datagram the other way.
 *
 * <p>With n of N ports open, k guesses find one with probability 1 − (1 − n/N)^k. For the defaults, 256
 * sockets among Linux's 64,512 ports: 1,024 guesses find one 98.3 % of the time, 2,048 (the budget)
 * 99.97 %. The rate is a trade: 250 guesses a second of 256 bytes is 64 KB/s, gentle on any uplink,
 * and each guess costs the easy side's NAT a state entry, which small home routers keep only a few
 * thousand of; at that rate the budget lasts about 8 s, the give-up point. The caller's relay (after
 * its own head start) carries the connection meanwhile, and the connection moves off it when a guess
 * lands. The hard side keeps its sockets a little past the give-up point for late guesses.
 *
 * @param sockets          how many sockets the hard side opens (0 turns birthday punching off)
 * @param guesses          how many ports the easy side tries before giving up
 * @param guessesPerSecond the easy side's pace
 * @param resendNanos      how often the hard side sends from every socket again: it keeps its NAT's
 *                         mappings, and a lost guess is made good when the easy side's NAT already
 *                         lets that port in
 */
public record BirthdaySettings(int sockets, int guesses, int guessesPerSecond, long resendNanos) {

    public static final BirthdaySettings DEFAULTS = new BirthdaySettings(256, 2048, 250, 2_000_000_000L);
    public static final BirthdaySettings OFF = new BirthdaySettings(0, 0, 1, 2_000_000_000L);

    public BirthdaySettings {
        if (sockets < 0 || sockets > 1024 || guesses < 0 || guessesPerSecond < 1 || guessesPerSecond > 10_000 || resendNanos <= 0) {
            throw new IllegalArgumentException("birthday punching takes 0..1024 sockets, a budget of 0 or more guesses at 1..10000 a "
                    + "second, and a positive resend interval");
        }
    }

    public boolean enabled() {
        return sockets > 0 && guesses > 0;
    }

    /** How long the guessing lasts: the budget at the pace. */
    public long guessingNanos() {
        return guesses * 1_000_000_000L / guessesPerSecond;
    }
}
