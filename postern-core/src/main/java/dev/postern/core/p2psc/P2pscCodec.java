package dev.postern.core.p2psc;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/**
 * p2psc messages to and from their JSON text. Every field is required and typed as the original's
 * C++ structs ({@code uint8} version, {@code uint16} port, strings); unknown fields are ignored, as
 * spotify-json does. Decoding is total: a message or a typed error.
 */
public final class P2pscCodec {

    /** The largest message accepted: RSA-2048 keys in PEM are about 430 bytes; the longest message holds two. */
    public static final int MAX_MESSAGE = 16 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(8).maxStringLength(MAX_MESSAGE).build())
            .build());

    private P2pscCodec() {}

    public static String encode(P2pscMessage m) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("type", m.type());
            g.writeObjectFieldStart("payload");
            switch (m) {
                case P2pscMessage.Advertise a -> {
                    g.writeNumberField("version", a.version());
                    g.writeStringField("our_key", a.ourKey());
                    g.writeStringField("their_key", a.theirKey());
                }
                case P2pscMessage.AdvertiseChallenge c -> g.writeStringField("encrypted_nonce", c.encryptedNonce());
                case P2pscMessage.AdvertiseResponse r -> g.writeStringField("nonce", r.nonce());
                case P2pscMessage.AdvertiseAbort a -> g.writeStringField("reason", a.reason());
                case P2pscMessage.AdvertiseRetry r -> g.writeStringField("reason", r.reason());
                case P2pscMessage.PeerDisconnect d -> g.writeNumberField("port", d.port());
                case P2pscMessage.PeerIdentification i -> {
                    g.writeNumberField("version", i.version());
                    g.writeStringField("ip", i.ip());
                    g.writeNumberField("port", i.port());
                }
                case P2pscMessage.PeerChallenge c -> g.writeStringField("encrypted_nonce", c.encryptedNonce());
                case P2pscMessage.PeerChallengeResponse r -> {
                    g.writeStringField("encrypted_nonce", r.encryptedNonce());
                    g.writeStringField("decrypted_nonce", r.decryptedNonce());
                }
                case P2pscMessage.PeerResponse r -> g.writeStringField("decrypted_nonce", r.decryptedNonce());
                case P2pscMessage.PeerAcknowledgement a -> { }
            }
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing to a string cannot fail", e);
        }
        return out.toString();
    }

    public static Decoded<P2pscMessage> decode(String text) {
        if (text.length() > MAX_MESSAGE) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException | RuntimeException e) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        if (root == null || !root.isObject() || !root.path("type").canConvertToInt() || !root.path("type").isIntegralNumber()
                || !root.path("payload").isObject()) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        Payload p = new Payload(root.get("payload"));
        P2pscMessage m = switch (root.get("type").asInt()) {
            case 0 -> new P2pscMessage.Advertise(p.uint("version", 255), p.string("our_key"), p.string("their_key"));
            case 1 -> new P2pscMessage.AdvertiseChallenge(p.string("encrypted_nonce"));
            case 2 -> new P2pscMessage.AdvertiseResponse(p.string("nonce"));
            case 3 -> new P2pscMessage.AdvertiseAbort(p.string("reason"));
            case 4 -> new P2pscMessage.AdvertiseRetry(p.string("reason"));
            case 5 -> new P2pscMessage.PeerDisconnect(p.uint("port", 65535));
            case 6 -> new P2pscMessage.PeerIdentification(p.uint("version", 255), p.string("ip"), p.uint("port", 65535));
            case 7 -> new P2pscMessage.PeerChallenge(p.string("encrypted_nonce"));
            case 8 -> new P2pscMessage.PeerChallengeResponse(p.string("encrypted_nonce"), p.string("decrypted_nonce"));
            case 9 -> new P2pscMessage.PeerResponse(p.string("decrypted_nonce"));
            case 10 -> new P2pscMessage.PeerAcknowledgement();
            default -> null;
        };
        if (m == null) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        return p.missing ? Decoded.bad(DecodeError.MALFORMED) : Decoded.ok(m);
    }

    /**
     * A message's payload, read field by field: a required field absent or of the wrong type reads as
     * empty (or 0) and marks the payload {@link #missing}, so the message built from it is refused.
     */
    private static final class Payload {
        private final JsonNode fields;
        private boolean missing;

        Payload(JsonNode fields) {
            this.fields = fields;
        }

        String string(String field) {
            JsonNode v = fields.get(field);
            if (v == null || !v.isTextual()) {
                missing = true;
                return "";
            }
            return v.asText();
        }

        int uint(String field, int max) {
            JsonNode v = fields.get(field);
            if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() > max) {
                missing = true;
                return 0;
            }
            return v.asInt();
        }
    }
}
