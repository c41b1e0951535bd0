package dev.postern.server.nodeapi;

import dev.postern.core.node.RequestRefused;
import dev.postern.server.ServerException;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

/** One mapping from what went wrong behind the node API to the status a caller sees. */
final class Failures {

    private Failures() {}

    static void reply(StreamObserver<?> response, Throwable failure) {
        Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
        Status status = switch (cause) {
            case ServerException e -> e.reason().isLimit() ? Status.RESOURCE_EXHAUSTED : switch (e.reason()) {
                case BAD_REQUEST -> Status.INVALID_ARGUMENT;
                case NOT_FOUND -> Status.NOT_FOUND;
                case UNAVAILABLE -> Status.UNAVAILABLE;
                default -> Status.INTERNAL;
            };
            // A node on its own: what its server refused over the control channel.
            case RequestRefused r -> switch (r.refusal()) {
                case BAD_REQUEST -> Status.INVALID_ARGUMENT;
                case LIMIT -> Status.RESOURCE_EXHAUSTED;
                case NOT_FOUND -> Status.NOT_FOUND;
                case NO_ANSWER -> Status.DEADLINE_EXCEEDED;
            };
            case TimeoutException t -> Status.DEADLINE_EXCEEDED;
            default -> Status.INTERNAL;
        };
        response.onError(status.withDescription(cause.getMessage()).asRuntimeException());
    }
}
