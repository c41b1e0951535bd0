package dev.postern.server.nodeapi;

/** What the node API refused, counted. */
public enum NodeApiCounter {
    REFUSED_HOST("requests refused: not to a loopback or allowed host (DNS rebinding)"),
    REFUSED_ORIGIN("requests refused: from a web page of another origin");

    private final String description;

    NodeApiCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
