package dev.postern.server.introducer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.server.introducer.IntroducerMessage.Intro;
import dev.postern.server.introducer.IntroducerMessage.Join;
import dev.postern.server.introducer.IntroducerMessage.Other;
import dev.postern.server.introducer.IntroducerMessage.Ping;
import dev.postern.server.introducer.IntroducerMessage.Relay;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The introducer library's messages to and from bytes: one UDP datagram, one JSON object, dispatched on its
 * {@code type}. Fields are checked as its peers check them: ids of 64 hex digits, a NAT type of {@code static},
 * {@code easy}, {@code hard} or {@code unknown} (or none yet), ports 1..65535; unknown fields are ignored.
 * Decoding is total: a message or a typed error, whatever the bytes. See
 * {@code ../shared/reference/introducer-wire.md}.
 */
final class IntroducerCodec {

    /** A datagram longer than this is no message of the protocol's (the longest, a join, is about 200 bytes). */
    static final int MAX_BYTES = 1500;

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(MAX_BYTES).build()).build());
    private static final Pattern ID = Pattern.compile("[0-9a-fA-F]{64}");

    private IntroducerCodec() {}

    /** A new JSON object for an answer. */
    static ObjectNode object(String type) {
        return JSON.createObjectNode().put("type", type);
    }

    static byte[] bytes(ObjectNode message) {
        try {
            return JSON.writeValueAsBytes(message);
        } catch (IOException e) {
            throw new IllegalStateException("a tree of strings and numbers always writes", e);
        }
    }

    static boolean isId(JsonNode v) {
        return v != null && v.isTextual() && ID.matcher(v.asText()).matches();
    }

    static boolean isNat(String s) {
        return s.equals("static") || s.equals("easy") || s.equals("hard") || s.equals("unknown");
    }

    static Decoded<IntroducerMessage> decode(byte[] d, int offset, int length) {
        if (length > MAX_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        JsonNode m;
        try {
            m = JSON.readTree(new String(d, offset, length, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            return Decoded.bad(DecodeError.MALFORMED); // not JSON, truncated, or too deep
        }
        if (m == null || !m.isObject() || !m.path("type").isTextual()) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        // Optional fields: absent or null, or valid; a present field that is not valid refuses the whole message.
        JsonNode nat = m.get("nat");
        Optional<String> natType = present(nat).map(JsonNode::asText);
        boolean natOk = absentOr(nat, v -> v.isTextual() && isNat(v.asText()));
        String type = m.get("type").asText();
        return switch (type) {
            case "ping" -> {
                JsonNode spin = m.get("spinPort");
                yield isId(m.get("id")) && natOk && absentOr(spin, v -> v.isIntegralNumber() && v.canConvertToInt() && v.asInt() > 0
                        && v.asInt() <= 65535)
                        ? Decoded.ok(new Ping(m.get("id").asText(), natType, number(m.get("restart")), present(spin).map(JsonNode::asInt),
                                number(m.get("ts"))))
                        : Decoded.bad(DecodeError.MALFORMED);
            }
            case "intro" -> isId(m.get("id")) && isId(m.get("target")) && natOk && absentOr(m.get("swarm"), IntroducerCodec::isId)
                    ? Decoded.ok(new Intro(m.get("id").asText(), natType, m.get("target").asText(), present(m.get("swarm")).map(JsonNode::asText)))
                    : Decoded.bad(DecodeError.MALFORMED);
            case "join" -> {
                JsonNode peers = m.get("peers");
                yield isId(m.get("id")) && isId(m.get("swarm")) && natOk
                        && absentOr(peers, v -> v.isIntegralNumber() && v.canConvertToInt() && v.asInt() >= 0)
                        ? Decoded.ok(new Join(m.get("id").asText(), m.get("swarm").asText(), natType, present(peers).map(JsonNode::asInt)))
                        : Decoded.bad(DecodeError.MALFORMED);
            }
            case "relay" -> isId(m.get("target")) && m.get("content") instanceof ObjectNode content
                    ? Decoded.ok(new Relay(m.get("target").asText(), content))
                    : Decoded.bad(DecodeError.MALFORMED);
            default -> Decoded.ok(new Other(type));
        };
    }

    private static Optional<JsonNode> present(JsonNode v) {
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    private static boolean absentOr(JsonNode v, java.util.function.Predicate<JsonNode> valid) {
        return present(v).map(valid::test).orElse(true);
    }

    private static Optional<JsonNode> number(JsonNode v) {
        return v != null && v.isNumber() ? Optional.of(v) : Optional.empty();
    }
}
