package dev.postern.core.messaging;

/** What the messaging router counts. */
public enum MessagingCounter {
    ACCEPTED("messages accepted"),
    DELIVERED("messages delivered (acknowledged)"),
    REDELIVERED("deliveries sent again (no acknowledgement in time)"),
    REFUSED_QUEUE_FULL("messages refused (recipient's queue full)"),
    REFUSED_SHARE_FULL("messages refused (the sender's share of the recipient's queue is full)"),
    REFUSED_SENDER_FULL("messages refused (the sender's or its address's bytes queued are at their budget)"),
    REFUSED_SERVER_FULL("messages refused (the bytes queued in all are at their budget)"),
    EXPIRED("messages dropped undelivered (too old)"),
    RECEIPTS_DROPPED("receipts dropped (sender's queue full)"),
    DUPLICATE_ACKS("acknowledgements for nothing in flight"),
    DUPLICATE_SENDS("messages sent again after a lost answer (answered, not queued twice)"),
    DROPPED_MALFORMED("frames dropped (not a messaging frame)");

    private final String description;

    MessagingCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
