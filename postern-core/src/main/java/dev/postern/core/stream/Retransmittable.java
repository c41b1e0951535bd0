package dev.postern.core.stream;

/**
 * What a sent packet carried that must go again if the packet is lost: stream bytes, or a control frame
 * whose newest value is sent again.
 */
sealed interface Retransmittable permits SendStream.Chunk, Retransmittable.Control {

    /** A control frame, queued until a packet has room for it. */
    sealed interface Control extends Retransmittable permits MaxDataOf, ResetOf {}

    /** A stream's receive limit; what goes is the limit at sending time, not the one first queued. */
    record MaxDataOf(int stream) implements Control {}

    record ResetOf(int stream, int code, long finalSize) implements Control {}
}
