package dev.postern.server.nodeapi;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.server.HttpService;
import dev.postern.server.health.LoopHealth;
import java.util.Map;
import java.util.Locale;

/**
 * {@code /health}: 200 while every role's threads run, 503 naming the role once one has stopped, so a supervisor
 * restarts a process whose pulse or control loop died although the process did not.
 */
final class HealthReport {

    private static final ObjectMapper JSON = new ObjectMapper();

    private HealthReport() {}

    static HttpService of(LoopHealth health) {
        return (ctx, req) -> {
            Map<String, LoopHealth.State> states = health.report();
            boolean healthy = !states.containsValue(LoopHealth.State.STOPPED);
            ObjectNode body = JSON.createObjectNode();
            body.put("healthy", healthy);
            ObjectNode roles = body.putObject("roles");
            states.forEach((role, state) -> roles.put(role, state.name().toLowerCase(Locale.ROOT)));
            return HttpResponse.of(healthy ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE, MediaType.JSON_UTF_8,
                    body.toString());
        };
    }
}
