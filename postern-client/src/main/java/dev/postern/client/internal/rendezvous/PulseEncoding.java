package dev.postern.client.internal.rendezvous;

/** How a pulse carries the private id; the server accepts both. */
public enum PulseEncoding {
    /** 64 ASCII hex digits, as the original clients send. */
    HEX,
    /** 32 raw bytes, as the original README documents. */
    RAW,
    /**
     * Postern's signed pulse ({@link dev.postern.core.rendezvous.SignedPulse}): the private id stays secret, so an
     * observer cannot move this client's endpoint. Once the server has one, it refuses this client's HEX and RAW pulses.
     */
    SIGNED
}
