package dev.postern.core.stream;

/** What a {@link StreamConnection} tells its owner. */
public sealed interface StreamEvent {

    /** The peer opened a stream: take it with {@link StreamConnection#read} and friends. */
    record Opened(int stream) implements StreamEvent {}

    /** A stream has bytes (or its end) to read. */
    record Readable(int stream) implements StreamEvent {}

    /** A stream's send buffer has room again. */
    record Writable(int stream) implements StreamEvent {}

    /** Everything written to a stream, and its end, reached the peer. */
    record Delivered(int stream) implements StreamEvent {}

    /** The peer abandoned a stream it was sending, with its code. */
    record Reset(int stream, int code) implements StreamEvent {}

    /** The peer broke the protocol (flow control, a stream's final size): the streams are over. */
    record Failed(String reason) implements StreamEvent {}
}
