package dev.postern.core.p2psc;

/**
 * The messages of p2psc's mediator protocol, numbered as its {@code types.h}: each travels as
 * {@code {"type": N, "payload": {...}}}. Types 0 to 6 pass between a peer and the mediator, 7 to 10
 * between the two peers.
 */
public sealed interface P2pscMessage {

    int type();

    record Advertise(int version, String ourKey, String theirKey) implements P2pscMessage {
        public int type() {
            return 0;
        }
    }

    record AdvertiseChallenge(String encryptedNonce) implements P2pscMessage {
        public int type() {
            return 1;
        }
    }

    record AdvertiseResponse(String nonce) implements P2pscMessage {
        public int type() {
            return 2;
        }
    }

    record AdvertiseAbort(String reason) implements P2pscMessage {
        public int type() {
            return 3;
        }
    }

    record AdvertiseRetry(String reason) implements P2pscMessage {
        public int type() {
            return 4;
        }
    }

    /** To the second peer: its own port as the mediator saw it; it closes and listens there. */
    record PeerDisconnect(int port) implements P2pscMessage {
        public int type() {
            return 5;
        }
    }

    /** The other peer's protocol version and address as the mediator saw it. */
    record PeerIdentification(int version, String ip, int port) implements P2pscMessage {
        public int type() {
            return 6;
        }
    }

    record PeerChallenge(String encryptedNonce) implements P2pscMessage {
        public int type() {
            return 7;
        }
    }

    record PeerChallengeResponse(String encryptedNonce, String decryptedNonce) implements P2pscMessage {
        public int type() {
            return 8;
        }
    }

    record PeerResponse(String decryptedNonce) implements P2pscMessage {
        public int type() {
            return 9;
        }
    }

    record PeerAcknowledgement() implements P2pscMessage {
        public int type() {
            return 10;
        }
    }
}
