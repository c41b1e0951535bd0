package dev.postern.client.rendezvous;

/** How a pulse carries the private id; the server accepts both. */
public enum PulseEncoding {
    /** 64 ASCII hex digits, as the original clients send. */
    HEX,
    /** 32 raw bytes, as the original README documents. */
    RAW
}
