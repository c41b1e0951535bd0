package dev.postern.server.rendezvous;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import java.io.UncheckedIOException;
import java.math.BigDecimal;

/** JSON bodies of the HTTP API: successes carry {@code "ok": true}, errors {@code {"ok":false,"error":...}}. */
public final class JsonReply {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonReply() {}

    static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    static AggregatedHttpResponse ok(ObjectNode body) {
        body.put("ok", true);
        return of(HttpStatus.OK, body);
    }

    public static AggregatedHttpResponse error(HttpStatus status, String message) {
        ObjectNode body = object();
        body.put("ok", false);
        body.put("error", message);
        return of(status, body);
    }

    /** Milliseconds as seconds with three decimals, e.g. 1763794800.123: what the original's time() gave. */
    static BigDecimal seconds(long millis) {
        return BigDecimal.valueOf(millis, 3);
    }

    private static AggregatedHttpResponse of(HttpStatus status, ObjectNode body) {
        try {
            return AggregatedHttpResponse.of(status, MediaType.JSON_UTF_8, MAPPER.writeValueAsBytes(body));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException("a tree of strings and numbers always serialises", e);
        }
    }
}
