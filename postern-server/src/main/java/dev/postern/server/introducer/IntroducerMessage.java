package dev.postern.server.introducer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;

/** The messages peers of the introducer library send an introducer, as {@link IntroducerCodec} decodes them. */
sealed interface IntroducerMessage {

    /** {@code ping}: a keepalive or a NAT probe; {@code spinPort} asks for a spin there too; {@code ts} is echoed. */
    record Ping(String id, Optional<String> nat, Optional<JsonNode> restart, Optional<Integer> spinPort, Optional<JsonNode> ts)
            implements IntroducerMessage {}

    /** {@code intro}: connect me to {@code target}. */
    record Intro(String id, Optional<String> nat, String target, Optional<String> swarm) implements IntroducerMessage {}

    /** {@code join}: connect me to up to {@code peers} members of {@code swarm}. */
    record Join(String id, String swarm, Optional<String> nat, Optional<Integer> peers) implements IntroducerMessage {}

    /** {@code relay}: pass {@code content} (a {@code local} message) on to {@code target}. */
    record Relay(String target, ObjectNode content) implements IntroducerMessage {}

    /** A well-formed message of a type an introducer does not handle (pongs, spins, app messages). */
    record Other(String type) implements IntroducerMessage {}
}
