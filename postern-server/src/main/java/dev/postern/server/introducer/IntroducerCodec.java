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
        Optional<Optional<String>> nat = nat(m.get("nat"));
        String type = m.get("type").asText();
        return switch (type) {
            case "ping" -> {
                Optional<Optional<Integer>> spin = port(m.get("spinPort"));
                yield isId(m.get("id")) && nat.isPresent() && spin.isPresent()
                        ? Decoded.ok(new Ping(m.get("id").asText(), nat.get(), number(m.get("restart")), spin.get(), number(m.get("ts"))))
                        : Decoded.bad(DecodeError.MALFORMED);
            }
            case "intro" -> isId(m.get("id")) && isId(m.get("target")) && nat.isPresent() && optionalId(m.get("swarm"))
                    ? Decoded.ok(new Intro(m.get("id").asText(), nat.get(), m.get("target").asText(),
                            isId(m.get("swarm")) ? Optional.of(m.get("swarm").asText()) : Optional.empty()))
                    : Decoded.bad(DecodeError.MALFORMED);
            case "join" -> {
                JsonNode peers = m.get("peers");
                boolean peersOk = peers == null || peers.isNull() || peers.isIntegralNumber() && peers.canConvertToInt() && peers.asInt() >= 0;
                yield isId(m.get("id")) && isId(m.get("swarm")) && nat.isPresent() && peersOk
                        ? Decoded.ok(new Join(m.get("id").asText(), m.get("swarm").asText(), nat.get(),
                                peers == null || peers.isNull() ? Optional.empty() : Optional.of(peers.asInt())))
                        : Decoded.bad(DecodeError.MALFORMED);
            }
            case "relay" -> isId(m.get("target")) && m.get("content") instanceof ObjectNode content
                    ? Decoded.ok(new Relay(m.get("target").asText(), content))
                    : Decoded.bad(DecodeError.MALFORMED);
            default -> Decoded.ok(new Other(type));
        };
    }

    /** Absent or null: known to be none yet; a NAT type; anything else: not a message. */
    private static Optional<Optional<String>> nat(JsonNode v) {
        if (v == null || v.isNull()) {
            return Optional.of(Optional.empty());
        }
        return v.isTextual() && isNat(v.asText()) ? Optional.of(Optional.of(v.asText())) : Optional.empty();
    }

    private static Optional<Optional<Integer>> port(JsonNode v) {
        if (v == null || v.isNull()) {
            return Optional.of(Optional.empty());
        }
        return v.isIntegralNumber() && v.canConvertToInt() && v.asInt() > 0 && v.asInt() <= 65535
                ? Optional.of(Optional.of(v.asInt())) : Optional.empty();
    }

    private static boolean optionalId(JsonNode v) {
        return v == null || v.isNull() || isId(v);
    }

    private static Optional<JsonNode> number(JsonNode v) {
        return v != null && v.isNumber() ? Optional.of(v) : Optional.empty();
    }
}
