package dev.postern.core.node;

/** A request to the server that the server refused, and why; the message is the server's own text. */
public final class RequestRefused extends Exception {

    private final NodeEvent.Refusal refusal;

    public RequestRefused(NodeEvent.Refusal refusal, String message) {
        super(message);
        this.refusal = refusal;
    }

    public NodeEvent.Refusal refusal() {
        return refusal;
    }
}
